// Metrics: per-class table, class distribution, a confusion matrix whose cells open their clips,
// and the ranked failure modes from the analysis.
import { currentPrediction, el, fmt, getJSON, navigate, predictionName } from "./api.js";

const openClips = (filter) => navigate({ view: "clips", ...filter }, { reset: true });

function perClassTable(splitMetrics, split) {
  const rows = Object.entries(splitMetrics.per_class || {});
  return el("table", { class: "per-class" },
    el("thead", {}, el("tr", {}, ["class", "precision", "recall", "F1", "support"].map((h) => el("th", {}, h)))),
    el("tbody", {}, rows.map(([label, m]) => el("tr", {},
      el("td", {}, el("a", { href: "#", onclick: (e) => { e.preventDefault(); openClips({ label, split }); } }, label)),
      el("td", {}, fmt(m.precision)), el("td", {}, fmt(m.recall)), el("td", {}, fmt(m.f1)),
      el("td", {}, m.support ?? "–")))));
}

function confusionTable({ classes, counts }, split) {
  const rowMax = counts.map((row) => Math.max(1, ...row));
  return el("table", { class: "confusion" },
    el("thead", {}, el("tr", {}, el("th", { class: "corner" }, "label ↓ / pred →"),
      classes.map((c) => el("th", { class: "col" }, el("span", {}, c))))),
    el("tbody", {}, classes.map((label, r) => el("tr", {}, el("th", {}, label),
      counts[r].map((n, c) => {
        const share = n / rowMax[r];
        const colour = r === c ? `rgba(44,160,44,${share})` : `rgba(214,39,40,${share})`;
        // A button per non-empty cell, so the matrix is reachable by keyboard.
        return el("td", { class: n ? "cell" : "cell zero", style: `background:${colour}`, "data-label": label, "data-pred": classes[c] },
          n ? el("button", { type: "button", class: "cell-button", title: `${label} → ${classes[c]}: ${n} clips`,
            onclick: () => openClips({ label, pred: classes[c], split, sort: "confidence", order: "desc" }) }, n) : "");
      })))));
}

// Clips per class as stacked bars, one segment per split: plain HTML, no charting library needed.
function distributionChart(distribution) {
  const splits = Object.keys(distribution).sort();
  const labels = [...new Set(splits.flatMap((s) => Object.keys(distribution[s])))].sort();
  const count = (split, label) => distribution[split][label] || 0;
  const totals = labels.map((label) => splits.reduce((sum, split) => sum + count(split, label), 0));
  const most = Math.max(1, ...totals);
  return el("table", { class: "distribution" },
    el("thead", {}, el("tr", {}, el("th", {}, "class"), el("th", {}, "clips"),
      el("th", { class: "legend" }, splits.map((split, k) => el("span", { class: `split-${k % 6}` }, split))))),
    el("tbody", {}, labels.map((label, r) => el("tr", {}, el("th", {}, label), el("td", {}, totals[r]),
      el("td", { class: "bars" }, splits.map((split, k) => el("span", {
        class: `split-${k % 6}`, title: `${label} · ${split}: ${count(split, label)}`,
        style: `width:${(100 * count(split, label)) / most}%`,
      })))))));
}

export async function showMetrics(state, root) {
  const split = state.split || "";
  const view = currentPrediction(state);
  const result = await getJSON(`/api/metrics?prediction=${view}${split ? "&split=" + encodeURIComponent(split) : ""}`);
  const splits = Object.keys(result.metrics);
  const picker = el("select", { id: "metrics-split", "aria-label": "split",
    onchange: () => navigate({ split: picker.value }, { replace: true }) },
  el("option", { value: "" }, "all splits"), Object.keys(result.distribution).map((s) =>
    el("option", { value: s, selected: s === split }, s)));
  const summary = el("table", { class: "summary" },
    el("tr", {}, el("th", {}, "split"), el("th", {}, "accuracy"), el("th", {}, "macro F1")),
    splits.map((s) => el("tr", {}, el("td", {}, s), el("td", {}, fmt(result.metrics[s].accuracy)),
      el("td", {}, fmt(result.metrics[s].macro_f1)))));
  const tableSplit = split && result.metrics[split] ? split : splits[splits.length - 1];
  const findings = el("ol", { class: "findings" }, result.modes.map((m) => el("li", { value: m.number },
    el("strong", {}, m.title), ` (${m.size} clips) `,
    el("button", { type: "button", class: "open-mode", onclick: () => openClips({ mode: String(m.number) }) }, "Open clips"),
    el("p", {}, m.description))));
  root.replaceChildren(
    el("div", { class: "metrics-tools" }, picker),
    el("section", {}, el("h2", {}, "Failure modes, largest first"),
      result.modes.length ? findings : el("p", { class: "empty" }, "No findings.json in this run.")),
    el("section", {}, el("h2", {}, "Confusion matrix ", el("small", {}, split || "all splits", ` · ${predictionName(view)} predictions · click a cell for its clips`)),
      el("div", { class: "scroll" }, confusionTable(result.confusion, split))),
    el("section", { class: "two" },
      el("div", {}, el("h2", {}, "Overall"), splits.length ? summary : el("p", { class: "empty" }, "No metrics.json."),
        tableSplit ? el("h3", {}, `Per class (${tableSplit})`) : null,
        tableSplit ? perClassTable(result.metrics[tableSplit], tableSplit) : null),
      el("div", {}, el("h2", {}, "Class distribution"), distributionChart(result.distribution))));
}

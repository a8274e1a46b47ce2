// The landing page: how the run does, its failure modes ranked with their sentence and examples,
// the most confused pairs, label and audio problems; every count is a link to its clips.
import { app, currentPrediction, el, getJSON, labelName, navigate, predictionName } from "./api.js";
import { openDetail, spectrogramBox } from "./cards.js";

function link(text, filter, cls = "") {
  const state = { view: "clips", ...filter };
  if (app.view !== app.summary.default_view) state.prediction = app.view;
  const href = "?" + new URLSearchParams(state).toString();
  return el("a", { href, class: cls, onclick: (e) => { e.preventDefault(); navigate(state, { reset: true }); } }, text);
}

function example(card) {
  return el("button", { type: "button", class: "example", title: `${card.path}: ${card.label} → ${card.pred}`,
    "aria-label": `details of ${card.path}`, onclick: () => openDetail(card) },
  spectrogramBox(card.path, "spec small"), el("span", {}, `${labelName(card.label)} → ${labelName(card.pred)}`));
}

function modeRow(mode, errors) {
  const share = errors ? mode.size / errors : 0;
  return el("li", { class: "mode", "data-mode": mode.number },
    el("div", { class: "mode-head" }, el("span", { class: "mode-number" }, mode.number),
      el("strong", { class: "mode-title" }, mode.title),
      link(`Open ${mode.size} clips`, { mode: String(mode.number) }, "button open-mode")),
    el("div", { class: "bar-track", title: `${Math.round(share * 100)}% of the errors` },
      el("div", { class: "bar-fill", style: `width:${Math.max(1, share * 100)}%` })),
    el("p", { class: "mode-description" }, mode.description),
    el("div", { class: "examples" }, mode.examples.map(example)));
}

export async function showOverview(state, root) {
  const view = currentPrediction(state);
  const o = await getJSON(`/api/overview?prediction=${view}`);
  const accuracy = el("table", { class: "accuracy" },
    el("tr", {}, ["split", "clips", "accuracy", "errors"].map((h) => el("th", {}, h))),
    o.splits.map((s) => el("tr", {}, el("td", {}, link(s.split, { split: s.split })), el("td", {}, s.clips.toLocaleString()),
      el("td", {}, `${(s.accuracy * 100).toFixed(1)}%`),
      el("td", {}, link(s.errors.toLocaleString(), { split: s.split, agree: "disagree" })))));
  const pairs = o.pairs.length ? el("ol", { class: "pairs" }, o.pairs.map((p) => el("li", {},
    link(`'${labelName(p.label)}' heard as '${labelName(p.pred)}'`, { label: p.label, pred: p.pred, sort: o.pair_sort }),
    ` · ${p.count} clips`))) : el("p", { class: "empty" }, "No errors.");
  const detectors = el("table", { class: "detectors" },
    el("tr", {}, el("th", {}, "audio problem"), el("th", {}, "what it means"), el("th", {}, "clips")),
    o.detectors.map((d) => el("tr", {}, el("td", {}, d.title), el("td", { class: "meaning" }, d.meaning),
      el("td", {}, d.count ? link(d.count.toLocaleString(), { flag: d.name }) : "0"))));
  root.replaceChildren(
    el("section", { class: "story" },
      el("h2", {}, `${o.clips.toLocaleString()} clips, `, link(`${o.errors.toLocaleString()} errors`, { agree: "disagree" }),
        el("small", {}, ` counted by the ${predictionName(o.prediction)} predictions`)),
      o.data_problem ? el("p", { class: "data-warning" }, `No audio: ${o.data_problem}`) : null,
      accuracy),
    o.compare ? el("section", { class: "compare-section" }, el("h2", {}, `Compared with B: ${o.compare.run}`),
      el("p", {}, `${o.compare.shared.toLocaleString()} clips in both runs, judged against this run's labels: `,
        link(`${o.compare.fixed.toLocaleString()} fixed by B`, { compare: "fixed" }), " · ",
        link(`${o.compare.broken.toLocaleString()} broken by B`, { compare: "broken" }))) : null,
    el("section", { class: "modes-section" }, el("h2", {}, "Failure modes, largest first"),
      o.modes.length ? el("ol", { class: "modes" }, o.modes.map((m) => modeRow(m, o.errors)))
        : el("p", { class: "empty" }, "No failure modes in findings.json (run `hark analyze`).")),
    el("div", { class: "two" },
      el("section", {}, el("h2", {}, "Most confused pairs"), pairs),
      el("section", {}, el("h2", {}, "Label and audio problems"),
        el("p", {}, link(`${o.label_issues.toLocaleString()} clips look mislabelled`, o.label_issue_filter)),
        detectors)));
}

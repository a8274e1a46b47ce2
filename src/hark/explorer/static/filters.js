// The filter bar: choices grouped and named in words, each value with its count under the
// current filter (from /api/facets), small histograms for confidence and loss, and the active
// filters as removable chips.
import { app, el, filterOf, filterQuery, flagTitle, getJSON, labelName, navigate, readState } from "./api.js";
import { openNewIssueDialog } from "./issues.js";

const AGREEMENT = [["agree", "prediction = label"], ["disagree", "prediction ≠ label"]];
const ISSUE = [["true", "likely mislabelled"], ["false", "label looks right"]];
const COMPARE = [["fixed", "fixed by B"], ["broken", "broken by B"], ["changed", "B predicts otherwise"]];
const NUMBERS = { conf_min: "confidence ≥", conf_max: "confidence ≤", loss_min: "loss ≥", loss_max: "loss ≤" };
let latest = 0;

const modeTitle = (number) => {
  const mode = app.modes.find((m) => String(m.number) === String(number));
  return Number(number) < 0 ? "in no failure mode" : mode ? `${mode.number}. ${mode.title}` : String(number);
};

function choice(name, title, options, help) {
  return el("label", { title: help }, title,
    el("select", { name, "data-facet": name, onchange: (e) => navigate({ [name]: e.target.value }) },
      el("option", { value: "" }, "any"),
      options.map(([value, text]) => el("option", { value, "data-text": text }, text))));
}

function number(name) {
  return el("label", {}, NUMBERS[name], el("input", { name, type: "number", step: "any", class: "num",
    onchange: (e) => navigate({ [name]: e.target.value }) }));
}

// Each detector flag is a three-way choice stored in the URL's repeated `flag` key ("x" or "-x").
function flagChoice(flag) {
  return el("label", { title: flag.meaning }, flag.title, el("select", { name: "flag:" + flag.name, "data-flag": flag.name,
    onchange: (e) => {
      const others = readState().flag.filter((f) => f.replace(/^-/, "") !== flag.name);
      navigate({ flag: e.target.value ? [...others, e.target.value] : others });
    } }, el("option", { value: "" }, "any"), el("option", { value: flag.name, "data-text": "flagged" }, "flagged"),
  el("option", { value: "-" + flag.name }, "not flagged")));
}

const group = (title, ...children) => el("fieldset", { class: "group" }, el("legend", {}, title), children);

export function buildFilterBar() {
  const s = app.summary;
  const pairs = (values) => values.map((v) => [v, labelName(v)]);
  const sortNames = { loss: "loss (how wrong)", confidence: "confidence", label_quality: "label quality", path: "path" };
  const actions = el("div", { class: "filter-actions" },
    el("button", { type: "button", id: "clear-filters", onclick: () => navigate({}, { reset: true }) }, "Clear filters"),
    el("button", { type: "button", id: "issue-from-filter", onclick: () => {
      const filter = filterOf(readState());
      openNewIssueDialog({ filter }, `All clips of the current filter (${document.getElementById("view").dataset.total ?? "?"} clips).`);
    } }, "New issue from filter"));
  document.getElementById("filters").replaceChildren(
    el("div", { class: "filter-top" }, el("div", { class: "chips", id: "chips", "aria-label": "active filters" }), actions),
    el("div", { class: "groups" },
      group("Labels", choice("label", "label", pairs(s.classes), "the label in the dataset"),
        choice("split", "split", s.splits.map((v) => [v, v])),
        choice("label_issue", "label quality", ISSUE, "hark's verdict on whether the label is wrong"),
        el("label", {}, "speaker", el("input", { name: "speaker", list: "speakers", size: 9,
          onchange: (e) => navigate({ speaker: e.target.value }) })),
        el("datalist", { id: "speakers" }, s.speakers.map((v) => el("option", { value: v })))),
      group("Predictions", choice("pred", "predicted as", pairs(s.classes)),
        choice("agree", "agreement", AGREEMENT),
        choice("mode", "failure mode", [...app.modes.map((m) => [String(m.number), modeTitle(m.number)]),
          [String(app.schema.no_cluster), modeTitle(app.schema.no_cluster)]], "the analysis' failure modes, largest first")),
      s.compare ? group(`Compare with B: ${s.compare.run}`, choice("compare", "B against this run", COMPARE,
        `clips both runs hold (${s.compare.shared}), judged against this run's labels`)) : null,
      group("Audio problems", s.flags.map(flagChoice)),
      group("Confidence and loss",
        el("div", { class: "range" }, el("svg", { class: "histogram", id: "hist-conf", viewBox: "0 0 100 20",
          preserveAspectRatio: "none", role: "img", "aria-label": "histogram of confidence" }), number("conf_min"), number("conf_max")),
        el("div", { class: "range" }, el("svg", { class: "histogram", id: "hist-loss", viewBox: "0 0 100 20",
          preserveAspectRatio: "none", role: "img", "aria-label": "histogram of loss" }), number("loss_min"), number("loss_max"))),
      group("Order",
        el("label", {}, "sort by", el("select", { name: "sort", onchange: (e) => navigate({ sort: e.target.value }) },
          app.schema.sort_keys.map((k) => el("option", { value: k }, sortNames[k] || k)))),
        el("label", {}, "order", el("select", { name: "order", onchange: (e) => navigate({ order: e.target.value }) },
          el("option", { value: "desc" }, "high first"), el("option", { value: "asc" }, "low first"))),
        el("label", {}, "path contains", el("input", { name: "search", type: "search", size: 10,
          onchange: (e) => navigate({ search: e.target.value }) })))));
}

function chipText(key, value) {
  if (key === "mode") return `failure mode ${modeTitle(value)}`;
  if (key === "flag") return value.startsWith("-") ? `not ${flagTitle(value.slice(1))}` : flagTitle(value);
  if (key === "agree") return Object.fromEntries(AGREEMENT)[value] || value;
  if (key === "label_issue") return Object.fromEntries(ISSUE)[value] || value;
  if (key === "issue") return `issue #${value}`;
  if (key === "compare") return Object.fromEntries(COMPARE)[value] || value;
  if (key in NUMBERS) return `${NUMBERS[key]} ${value}`;
  const names = { label: "label", pred: "predicted", split: "split", speaker: "speaker", search: "path contains" };
  return `${names[key] || key}: ${key === "label" || key === "pred" ? labelName(value) : value}`;
}

// Active filters as chips; the ✕ removes one.
function renderChips(state) {
  const filter = filterOf(state);
  delete filter.prediction;
  const chips = [];
  for (const [key, value] of Object.entries(filter)) {
    for (const one of Array.isArray(value) ? value : [value]) {
      const remove = () => navigate({ [key]: Array.isArray(value) ? value.filter((v) => v !== one) : "" });
      chips.push(el("span", { class: "chip", "data-key": key }, chipText(key, one),
        el("button", { type: "button", class: "chip-remove", "aria-label": "remove filter " + chipText(key, one), onclick: remove }, "✕")));
    }
  }
  document.getElementById("chips").replaceChildren(chips.length ? el("span", { class: "chips-title" }, "Showing:") : "",
    ...(chips.length ? chips : [el("span", { class: "hint" }, "All clips. Narrow them with the choices below.")]));
}

export function syncFilterBar(state) {
  for (const input of document.querySelectorAll("#filters [name]")) {
    if (input.name.startsWith("flag:")) {
      const flag = input.name.slice(5);
      input.value = state.flag.find((f) => f.replace(/^-/, "") === flag) || "";
    } else input.value = state[input.name] ?? (input.name === "sort" ? app.schema.default_sort : input.name === "order" ? "desc" : "");
  }
  renderChips(state);
}

function drawHistogram(svg, { edges, counts }, low, high) {
  const most = Math.max(1, ...counts);
  const width = 100 / counts.length;
  const inside = (k) => (low === undefined || edges[k + 1] >= Number(low)) && (high === undefined || edges[k] <= Number(high));
  svg.replaceChildren(...counts.map((n, k) => el("rect", { x: k * width + 0.3, width: width - 0.6, y: 20 - (20 * n) / most,
    height: (20 * n) / most, class: inside(k) ? "bar" : "bar out" }, el("title", {}, `${edges[k]}–${edges[k + 1]}: ${n}`))));
}

// Counts per value under the current filter; arrives after the view, so it never delays it.
export async function updateFacets(state) {
  const ticket = ++latest;
  const facets = await getJSON(`/api/facets?${filterQuery(state)}`);
  if (ticket !== latest) return;
  for (const select of document.querySelectorAll("#filters select[data-facet]")) {
    const counts = facets.counts[select.dataset.facet] || {};
    for (const option of select.options) {
      if (option.value) option.textContent = `${option.dataset.text} (${(counts[option.value] ?? 0).toLocaleString()})`;
    }
  }
  for (const select of document.querySelectorAll("#filters select[data-flag]")) {
    const option = select.querySelector("option[data-text]");
    option.textContent = `flagged (${(facets.counts.flag[select.dataset.flag] ?? 0).toLocaleString()})`;
  }
  drawHistogram(document.getElementById("hist-conf"), facets.histograms.conf, state.conf_min, state.conf_max);
  drawHistogram(document.getElementById("hist-loss"), facets.histograms.loss, state.loss_min, state.loss_max);
}

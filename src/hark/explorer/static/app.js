// Start-up, the filter bar, and drawing whichever view the URL names.
import { el, filterOf, getJSON, navigate, readState, setNavigateHandler, toast } from "./api.js";
import { app, updatePickedBar } from "./cards.js";
import { showClips, showSimilar } from "./grid.js";
import { addPickedTo, openNewIssueDialog, refreshIssues, showCorrections, showIssues } from "./issues.js";
import { loadMap, showMap } from "./map.js";
import { showMetrics } from "./metrics.js";

const VIEWS = { clips: showClips, map: showMap, metrics: showMetrics, issues: showIssues,
  corrections: showCorrections, similar: showSimilar };
const FILTERED_VIEWS = new Set(["clips", "map"]);

const choice = (name, label, options) => el("label", {}, label,
  el("select", { name, onchange: (e) => navigate({ [name]: e.target.value }) },
    el("option", { value: "" }, "any"), options.map(([value, text]) => el("option", { value }, text))));

const number = (name, label) => el("label", {}, label,
  el("input", { name, type: "number", step: "any", class: "num", onchange: (e) => navigate({ [name]: e.target.value }) }));

// Each detector flag is a three-way choice stored in the URL's repeated `flag` key ("x" or "-x").
function flagChoice(flag) {
  return el("label", {}, flag, el("select", { name: "flag:" + flag, onchange: (e) => {
    const others = readState().flag.filter((f) => f.replace(/^-/, "") !== flag);
    navigate({ flag: e.target.value ? [...others, e.target.value] : others });
  } }, el("option", { value: "" }, "any"), el("option", { value: flag }, "yes"), el("option", { value: "-" + flag }, "no")));
}

function buildFilterBar(summary) {
  const pairs = (values) => values.map((v) => [v, v]);
  const bar = document.getElementById("filters");
  bar.replaceChildren(
    choice("label", "label", pairs(summary.classes)),
    choice("pred", "pred", pairs(summary.classes)),
    choice("split", "split", pairs(summary.splits)),
    choice("agree", "agreement", [["agree", "agree"], ["disagree", "disagree"]]),
    choice("cluster", "cluster", summary.clusters.map((c) => [String(c), c < 0 ? "none" : String(c)])),
    choice("label_issue", "label issue", [["true", "yes"], ["false", "no"]]),
    ...summary.flags.map(flagChoice),
    el("label", {}, "speaker", el("input", { name: "speaker", list: "speakers", size: 10,
      onchange: (e) => navigate({ speaker: e.target.value }) })),
    el("datalist", { id: "speakers" }, summary.speakers.map((s) => el("option", { value: s }))),
    number("conf_min", "conf ≥"), number("conf_max", "conf ≤"), number("loss_min", "loss ≥"), number("loss_max", "loss ≤"),
    el("label", {}, "path", el("input", { name: "search", type: "search", size: 12, onchange: (e) => navigate({ search: e.target.value }) })),
    el("label", {}, "sort", el("select", { name: "sort", onchange: (e) => navigate({ sort: e.target.value }) },
      ["loss", "confidence", "label_quality", "path"].map((s) => el("option", { value: s }, s.replace("_", " "))))),
    el("select", { name: "order", "aria-label": "order", onchange: (e) => navigate({ order: e.target.value }) },
      el("option", { value: "desc" }, "high first"), el("option", { value: "asc" }, "low first")),
    el("button", { type: "button", id: "clear-filters", onclick: () => navigate({}, { reset: true }) }, "Clear"),
    el("button", { type: "button", id: "issue-from-filter", onclick: () => {
      const filter = filterOf(readState());
      openNewIssueDialog({ filter }, `All clips of the current filter (${document.getElementById("view").dataset.total ?? "?"} clips).`);
    } }, "New issue from filter"));
}

function syncFilterBar(state) {
  for (const input of document.querySelectorAll("#filters [name]")) {
    if (input.name.startsWith("flag:")) {
      const flag = input.name.slice(5);
      input.value = state.flag.find((f) => f.replace(/^-/, "") === flag) || "";
    } else input.value = state[input.name] ?? (input.name === "sort" ? "loss" : input.name === "order" ? "desc" : "");
  }
}

async function render() {
  const state = readState();
  const view = VIEWS[state.view] ? state.view : "clips";
  for (const tab of document.querySelectorAll("#tabs a")) tab.classList.toggle("active", tab.dataset.view === view);
  document.getElementById("filters").hidden = !FILTERED_VIEWS.has(view);
  syncFilterBar(state);
  const root = document.getElementById("view");
  if (root.dataset.view !== view) { root.replaceChildren(); root.dataset.view = view; }
  try {
    await VIEWS[view](state, root);
  } catch (err) { toast(err.message, true); }
  document.body.dataset.rendered = String(Number(document.body.dataset.rendered || 0) + 1);
}

async function start() {
  // Opening the map directly: its columns download alongside the app's own start-up requests.
  if (readState().view === "map") loadMap().catch(() => {});
  [app.summary] = await Promise.all([getJSON("/api/summary"), refreshIssues()]);
  document.getElementById("run-name").textContent = `${app.summary.run} · ${app.summary.clips.toLocaleString()} clips`;
  buildFilterBar(app.summary);
  for (const tab of document.querySelectorAll("#tabs a")) {
    tab.addEventListener("click", (e) => { e.preventDefault(); navigate({ view: tab.dataset.view }); });
  }
  document.getElementById("issue-from-picked").addEventListener("click", () =>
    openNewIssueDialog({ ids: [...app.picked] }, `The ${app.picked.size} selected clips.`));
  document.getElementById("add-to-issue").addEventListener("change", async (e) => {
    if (e.target.value) await addPickedTo(e.target.value).catch((err) => toast(err.message, true));
    e.target.value = "";
  });
  document.getElementById("clear-picked").addEventListener("click", () => {
    app.picked.clear();
    for (const box of document.querySelectorAll(".card .pick")) box.checked = false;
    updatePickedBar();
  });
  document.getElementById("cancel-issue").addEventListener("click", () => document.getElementById("new-issue").close());
  setNavigateHandler(render);
  window.addEventListener("popstate", render);
  await render();
}

start().catch((err) => toast(err.message, true));

// Start-up, the header (tabs, prediction switch, data warning) and drawing whichever view the URL names.
import { app, currentPrediction, el, getJSON, loadSchema, navigate, predictionName, readState, setNavigateHandler,
  toast } from "./api.js";
import { updatePickedBar } from "./cards.js";
import { showDetail } from "./detail.js";
import { buildFilterBar, syncFilterBar, updateFacets } from "./filters.js";
import { showClips, showSimilar } from "./grid.js";
import { addPickedTo, openNewIssueDialog, refreshIssues, showCorrections, showIssues } from "./issues.js";
import { installKeys } from "./keys.js";
import { dropOutsideFilter, loadMap, showMap } from "./map.js";
import { showMetrics } from "./metrics.js";
import { showOverview } from "./overview.js";

const VIEWS = { overview: showOverview, clips: showClips, map: showMap, metrics: showMetrics, issues: showIssues,
  corrections: showCorrections, similar: showSimilar, clip: showDetail };
const FILTERED_VIEWS = new Set(["clips", "map"]);

function predictionSwitch() {
  const box = document.getElementById("prediction-switch");
  box.hidden = app.summary.views.length < 2;
  box.replaceChildren(el("span", { class: "switch-title" }, "Predictions:"), ...app.summary.views.map((view) =>
    el("button", { type: "button", value: view, "aria-pressed": "false",
      title: view === app.summary.default_view ? "the prediction the analysis counts errors by" : "the final model's own predictions",
      onclick: () => navigate({ prediction: view === app.summary.default_view ? "" : view }, { replace: true }) },
    predictionName(view) + (view === app.summary.default_view ? " (analysis)" : ""))));
}

// A view that cannot be drawn says why in the page, with a way out, instead of a blank page.
function showProblem(root, err) {
  const badLink = err.status === 422;
  root.replaceChildren(el("section", { class: "problem", role: "alert" },
    el("h2", {}, badLink ? "This link's filter is not valid" : "This view could not be shown"),
    el("p", {}, String(err.detail ?? err.message)),
    el("button", { type: "button", onclick: () => navigate({}, { reset: true }) }, "Clear the filter")));
}

async function render() {
  const state = readState();
  const view = VIEWS[state.view] ? state.view : "overview";
  app.view = currentPrediction(state);
  for (const tab of document.querySelectorAll("#tabs a")) {
    tab.classList.toggle("active", tab.dataset.view === view);
    if (tab.dataset.view === view) tab.setAttribute("aria-current", "page"); else tab.removeAttribute("aria-current");
  }
  for (const button of document.querySelectorAll("#prediction-switch button")) {
    button.setAttribute("aria-pressed", String(button.value === app.view));
  }
  document.getElementById("filters").hidden = !FILTERED_VIEWS.has(view);
  const root = document.getElementById("view");
  if (root.dataset.view !== view) { root.replaceChildren(); root.dataset.view = view; }
  if (FILTERED_VIEWS.has(view)) {
    syncFilterBar(state);
    updateFacets(state).catch(() => {}); // a bad filter is reported by the view itself
    dropOutsideFilter(state).catch(() => {});
  }
  try {
    await VIEWS[view](state, root);
  } catch (err) { showProblem(root, err); }
  document.body.dataset.rendered = String(Number(document.body.dataset.rendered || 0) + 1);
}

async function start() {
  const summary = getJSON("/api/summary");
  await loadSchema();
  // Opening the map directly: its columns download alongside the app's own start-up requests.
  if (readState().view === "map") loadMap().catch(() => {});
  [app.summary] = await Promise.all([summary, refreshIssues()]);
  app.modes = app.summary.modes;
  const { run, clips, data_problem: problem } = app.summary;
  document.getElementById("run-name").textContent = `${run} · ${clips.toLocaleString()} clips`;
  const warning = document.getElementById("data-warning");
  warning.hidden = !problem;
  warning.textContent = problem ? `No audio: ${problem}` : "";
  predictionSwitch();
  buildFilterBar();
  updatePickedBar();
  for (const tab of document.querySelectorAll("#tabs a")) {
    tab.addEventListener("click", (e) => { e.preventDefault(); navigate({ view: tab.dataset.view }); });
  }
  document.getElementById("issue-from-picked").addEventListener("click", () =>
    openNewIssueDialog({ ids: [...app.picked] }, `The ${app.picked.size} selected clips.`));
  document.getElementById("add-to-issue").addEventListener("change", async (e) => {
    if (e.target.value) await addPickedTo(e.target.value).catch((err) => toast(err.message, { error: true }));
    e.target.value = "";
  });
  document.getElementById("clear-picked").addEventListener("click", () => {
    app.picked.clear();
    for (const box of document.querySelectorAll(".card .pick")) box.checked = false;
    updatePickedBar();
    document.dispatchEvent(new Event("picked-changed"));
  });
  for (const dialog of document.querySelectorAll("dialog")) {
    dialog.querySelector("button.cancel")?.addEventListener("click", () => dialog.close());
  }
  installKeys();
  setNavigateHandler(render);
  window.addEventListener("popstate", render);
  await render();
}

start().catch((err) => toast(err.message, { error: true }));

// The embedding map: every clip as a WebGL point (Plotly scattergl), coloured by a chosen
// attribute; clips outside the current filter are drawn grey behind the others.
import { el, filterQuery, getJSON, loadPlotly, navigate, unpackArray, unpackMask } from "./api.js";
import { app, updatePickedBar } from "./cards.js";
import { playClip, showSelection } from "./grid.js";

const PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
  "#bcbd22", "#17becf", "#aec7e8", "#ffbb78", "#98df8a", "#ff9896", "#c5b0d5", "#c49c94", "#f7b6d2",
  "#dbdb8d", "#9edae5", "#393b79"];
const OUTSIDE = "outside filter";
let data = null; // /api/map, fetched and decoded once
let colouring = null; // categories() of the current colour mode, reused across filter changes
let plotReady = false;
let latest = 0;

function categories(mode) {
  if (colouring?.mode === mode) return colouring;
  const n = data.x.length;
  const code = new Int32Array(n);
  colouring = { mode, code };
  if (mode === "label" || mode === "pred") {
    code.set(data[mode]);
    return Object.assign(colouring, { names: data.classes });
  }
  if (mode === "cluster") {
    const ids = [...new Set(data.cluster)].sort((a, b) => a - b);
    const position = new Map(ids.map((c, i) => [c, i]));
    data.cluster.forEach((c, i) => { code[i] = position.get(c); });
    return Object.assign(colouring, { names: ids.map((c) => (c < 0 ? "no cluster" : `cluster ${c}`)) });
  }
  if (mode.startsWith("flag:")) {
    const name = mode.slice(5);
    code.set(unpackMask(data.flags[name], n));
    return Object.assign(colouring, { names: [`not ${name}`, name] });
  }
  for (let i = 0; i < n; i++) code[i] = data.label[i] === data.pred[i] ? 0 : 1;
  return Object.assign(colouring, { names: ["agree", "disagree"], colors: ["#9ecae1", "#d62728"] });
}

function traces(mode, mask) {
  const { names, code, colors } = categories(mode);
  const members = names.map(() => []);
  const outside = [];
  for (let i = 0; i < code.length; i++) {
    if (Number.isNaN(data.x[i])) continue;
    (mask[i] ? members[code[i]] : outside).push(i);
  }
  const trace = (ids, name, color, size) => ({
    type: "scattergl", mode: "markers", name, customdata: ids,
    x: Float32Array.from(ids, (i) => data.x[i]), y: Float32Array.from(ids, (i) => data.y[i]),
    text: ids.map((i) => data.hover[i]), hoverinfo: "text", marker: { size, color, opacity: 0.85 },
  });
  // Smaller markers when dense: less overdraw, and a third of the pixels for software WebGL to shade.
  const dense = code.length > 20000;
  const drawn = names.map((name, k) => trace(members[k], name, (colors || PALETTE)[k % PALETTE.length], dense ? 4 : 6))
    .filter((t) => t.customdata.length);
  return [trace(outside, OUTSIDE, "#dddddd", dense ? 2 : 3), ...drawn];
}

// Fixed axis ranges: Plotly then skips re-scanning 100k points for its autorange on every filter.
// NaN (a clip without map coordinates) fails both comparisons and is skipped.
function paddedRange(values) {
  let low = Infinity;
  let high = -Infinity;
  for (const v of values) {
    if (v < low) low = v;
    if (v > high) high = v;
  }
  const pad = (high - low) * 0.04 || 1;
  return [low - pad, high + pad];
}

function decodeMap(raw) {
  const map = { ...raw, x: unpackArray(raw.x, Float32Array), y: unpackArray(raw.y, Float32Array),
    label: unpackArray(raw.label, Int32Array), pred: unpackArray(raw.pred, Int32Array),
    cluster: unpackArray(raw.cluster, Int32Array) };
  // Hover text: one shared string per (label, prediction) pair instead of 100k new strings.
  const n = map.classes.length;
  const pairs = map.classes.flatMap((label) => map.classes.map((pred) => `${label} → ${pred}`));
  map.hover = Array.from(map.label, (label, i) => pairs[label * n + map.pred[i]]);
  map.xRange = paddedRange(map.x);
  map.yRange = paddedRange(map.y);
  return map;
}

function colourChoices() {
  return ["agreement", "label", "pred", "cluster", ...app.summary.flags.map((f) => "flag:" + f)];
}

export async function showMap(state, root) {
  const ticket = ++latest;
  if (!app.summary.has_map) {
    root.replaceChildren(el("p", { class: "empty" }, "This run's clips.parquet has no map coordinates (x, y)."));
    return;
  }
  let plot = document.getElementById("map-plot");
  if (!plot) {
    plot = el("div", { id: "map-plot", class: "map-plot" });
    const colour = el("select", { id: "map-colour", "aria-label": "colour by",
      onchange: () => navigate({ color: colour.value }, { replace: true }) },
    colourChoices().map((c) => el("option", { value: c }, "colour: " + c)));
    root.replaceChildren(
      el("div", { class: "map-tools" }, colour,
        el("span", { class: "hint" }, "Box/lasso-select points to see their clips; click a point to play it.")),
      plot, el("h3", { id: "selection-title" }), el("div", { id: "selection" }));
    plotReady = false;
  }
  const mode = colourChoices().includes(state.color) ? state.color : "agreement";
  document.getElementById("map-colour").value = mode;
  const [mapData, maskResult, Plotly] = await Promise.all(
    [data || getJSON("/api/map").then(decodeMap), getJSON(`/api/mask?${filterQuery(state)}`), loadPlotly()]);
  data = mapData;
  if (ticket !== latest) return;
  const mask = unpackMask(maskResult.mask, data.x.length);
  const layout = {
    dragmode: "lasso", uirevision: "map", hovermode: "closest", margin: { l: 30, r: 10, t: 30, b: 30 },
    legend: { itemsizing: "constant" }, xaxis: { zeroline: false, range: data.xRange },
    yaxis: { zeroline: false, range: data.yRange },
  };
  await Plotly.react(plot, traces(mode, mask), layout, { displaylogo: false, responsive: true });
  plot.dataset.shown = String(maskResult.total);
  if (!plotReady) {
    plotReady = true;
    plot.on("plotly_selected", (event) => showPicked(event ? event.points : []));
    plot.on("plotly_click", async (event) => {
      const id = event.points[0].customdata;
      const { clips } = await getJSON(`/api/clips/by-id?ids=${id}`);
      playClip(clips[0].path);
    });
  }
}

function showPicked(points) {
  const ids = points.filter((p) => p.data.name !== OUTSIDE).map((p) => p.customdata);
  app.picked = new Set(ids);
  updatePickedBar();
  document.getElementById("selection-title").textContent = ids.length ? `${ids.length} selected clips` : "";
  showSelection(ids, document.getElementById("selection"));
}

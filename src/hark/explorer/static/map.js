// The embedding map: every clip as a point of a canvas point cloud (pointcloud.js), coloured by a
// chosen attribute; clips outside the current filter are drawn small and grey behind the others.
// A filter change only fetches the filter's bit mask and regroups the points.
import { el, filterQuery, getJSON, navigate, unpackArray, unpackMask } from "./api.js";
import { app, updatePickedBar } from "./cards.js";
import { playClip, showSelection } from "./grid.js";
import { PointCloud } from "./pointcloud.js";

const PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
  "#bcbd22", "#17becf", "#aec7e8", "#ffbb78", "#98df8a", "#ff9896", "#c5b0d5", "#c49c94", "#f7b6d2",
  "#dbdb8d", "#9edae5", "#393b79"];
const OUTSIDE = { name: "outside filter", colour: "#d4d4d4" };
const MODES = ["pan", "box", "lasso"];
let mapData = null; // promise of /api/map, fetched and decoded once
let colouring = null; // categories() of the current colour mode, reused across filter changes
let cloud = null;
let mask = null; // the current filter's clips, one byte per clip
let latest = 0;

// Starts the one download of the map's columns; app.js calls it early when the page opens on the map.
export function loadMap() {
  mapData ??= getJSON("/api/map").then((raw) => ({ ...raw, x: unpackArray(raw.x, Float32Array),
    y: unpackArray(raw.y, Float32Array), label: unpackArray(raw.label, Int32Array),
    pred: unpackArray(raw.pred, Int32Array), cluster: unpackArray(raw.cluster, Int32Array) }));
  return mapData;
}

function categories(data, mode) {
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
    return Object.assign(colouring, { names: [`not ${name}`, name], colours: ["#9ecae1", "#d62728"] });
  }
  for (let i = 0; i < n; i++) code[i] = data.label[i] === data.pred[i] ? 0 : 1;
  return Object.assign(colouring, { names: ["agree", "disagree"], colours: ["#9ecae1", "#d62728"] });
}

// Point ids per colour group (group 0: outside the filter), by a counting sort over the codes.
function groups(data, mode) {
  const { names, code, colours } = categories(data, mode);
  const group = new Int32Array(code.length).fill(-1);
  const counts = new Int32Array(names.length + 2);
  for (let i = 0; i < code.length; i++) {
    if (Number.isNaN(data.x[i]) || Number.isNaN(data.y[i])) continue;
    group[i] = mask[i] ? code[i] + 1 : 0;
    counts[group[i] + 1]++;
  }
  for (let g = 1; g < counts.length; g++) counts[g] += counts[g - 1];
  const ids = new Int32Array(counts[counts.length - 1]);
  const next = counts.slice();
  for (let i = 0; i < group.length; i++) if (group[i] >= 0) ids[next[group[i]]++] = i;
  const dense = code.length > 20000; // smaller points when dense: less overdraw
  return [OUTSIDE, ...names.map((name, k) => ({ name, colour: (colours || PALETTE)[k % PALETTE.length] }))]
    .map((g, k) => ({ ...g, ids: ids.subarray(counts[k], counts[k + 1]), size: (k ? 4 : 2) + (dense ? 0 : 2) }))
    .filter((g) => g.ids.length);
}

function colourChoices() {
  return ["agreement", "label", "pred", "cluster", ...app.summary.flags.map((f) => "flag:" + f)];
}

function setMode(mode) {
  cloud.mode = mode;
  for (const button of document.querySelectorAll("#map-modes button")) {
    button.setAttribute("aria-pressed", String(button.value === mode));
  }
}

function buildView(root) {
  const colour = el("select", { id: "map-colour", "aria-label": "colour by",
    onchange: () => navigate({ color: colour.value }, { replace: true }) },
  colourChoices().map((c) => el("option", { value: c }, "colour: " + c)));
  const modes = el("div", { id: "map-modes", class: "map-modes", role: "group", "aria-label": "drag mode" },
    MODES.map((m) => el("button", { type: "button", value: m, onclick: () => setMode(m) }, m)));
  root.replaceChildren(
    el("div", { class: "map-tools" }, colour, modes, el("span", { class: "hint" },
      "Drag to pan, wheel to zoom, double-click to reset; shift-drag, box or lasso selects; click a point to play it.")),
    el("div", { class: "map-area" }, el("div", { id: "map-plot", class: "map-plot" },
      el("div", { id: "map-tip", class: "map-tip", hidden: true })), el("ul", { id: "map-legend", class: "map-legend" })),
    el("h3", { id: "selection-title" }), el("div", { id: "selection" }));
}

function startCloud(data) {
  const plot = document.getElementById("map-plot");
  const tip = document.getElementById("map-tip");
  cloud = new PointCloud(plot, data.x, data.y, {
    onHover(i, clientX, clientY) {
      tip.hidden = i < 0;
      if (i < 0) return;
      const box = plot.getBoundingClientRect();
      tip.textContent = `${data.classes[data.label[i]]} → ${data.classes[data.pred[i]]}`;
      tip.style.left = `${clientX - box.left + 12}px`;
      tip.style.top = `${clientY - box.top + 12}px`;
    },
    async onClick(i) {
      const { clips } = await getJSON(`/api/clips/by-id?ids=${i}`);
      playClip(clips[0].path);
    },
    onSelect: (ids) => showPicked(ids.filter((i) => mask[i])),
  });
  plot.pointcloud = cloud; // for the browser tests, which aim the mouse at known points
  setMode("pan");
}

export async function showMap(state, root) {
  const ticket = ++latest;
  if (!app.summary.has_map) {
    root.replaceChildren(el("p", { class: "empty" }, "This run's clips.parquet has no map coordinates (x, y)."));
    return;
  }
  if (!document.getElementById("map-plot")) {
    buildView(root);
    cloud?.disconnect();
    cloud = null;
  }
  const mode = colourChoices().includes(state.color) ? state.color : "agreement";
  document.getElementById("map-colour").value = mode;
  const [data, maskResult] = await Promise.all([loadMap(), getJSON(`/api/mask?${filterQuery(state)}`)]);
  if (ticket !== latest) return;
  mask = unpackMask(maskResult.mask, data.x.length);
  if (!cloud) startCloud(data);
  const drawn = groups(data, mode);
  cloud.setGroups(drawn);
  document.getElementById("map-legend").replaceChildren(...drawn.map((g) => el("li", {},
    el("span", { class: "swatch", style: `background:${g.colour}` }), g.name, el("span", { class: "count" }, g.ids.length))));
  document.getElementById("map-plot").dataset.shown = String(maskResult.total);
}

function showPicked(ids) {
  app.picked = new Set(ids);
  updatePickedBar();
  document.getElementById("selection-title").textContent = ids.length ? `${ids.length} selected clips` : "";
  showSelection(ids, document.getElementById("selection"));
}

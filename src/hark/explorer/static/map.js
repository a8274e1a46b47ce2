// The embedding map: every clip as a point of a canvas point cloud (pointcloud.js), coloured by a
// chosen attribute; clips outside the current filter are drawn small and grey behind the others.
// Legend entries hide or solo their category; the selection is drawn on top and never holds a
// clip the filter hides. A filter change only fetches the filter's bit mask and regroups points.
import { app, currentPrediction, el, filterQuery, flagTitle, getJSON, labelName, mediaUrl, navigate, unpackArray,
  unpackMask } from "./api.js";
import { playClip, updatePickedBar } from "./cards.js";
import { showSelection } from "./grid.js";
import { PointCloud } from "./pointcloud.js";

const PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#bcbd22",
  "#17becf", "#393b79", "#aec7e8", "#ffbb78", "#98df8a", "#ff9896", "#c5b0d5", "#c49c94", "#f7b6d2",
  "#dbdb8d", "#9edae5", "#637939"];
const MUTED = "#c8ccd2"; // "no failure mode", "agrees", "not flagged": present, but not the story
const ALERT = "#d62728";
const OUTSIDE = { name: "outside the filter", colour: "#e6e6e6", background: true };
const MODES = ["pan", "box", "lasso"];
let mapData = null; // promise of /api/map, fetched and decoded once
let colouring = null; // categories() of the current colour mode, reused across filter changes
let cloud = null;
let mask = null; // the current filter's clips, one byte per clip
let latest = 0;
const hidden = new Map(); // colour mode -> Set of hidden category names

// Starts the one download of the map's columns; app.js calls it early when the page opens on the map.
export function loadMap() {
  mapData ??= getJSON("/api/map").then((raw) => ({ ...raw, x: unpackArray(raw.x, Float32Array),
    y: unpackArray(raw.y, Float32Array), label: unpackArray(raw.label, Int32Array),
    pred: Object.fromEntries(Object.entries(raw.pred).map(([k, v]) => [k, unpackArray(v, Int32Array)])),
    mode: unpackArray(raw.mode, Int32Array) }));
  return mapData;
}

function categories(data, mode) {
  const key = `${mode}|${app.view}`;
  if (colouring?.key === key) return colouring;
  const n = data.x.length;
  const code = new Int32Array(n);
  const pred = data.pred[app.view];
  colouring = { key, code };
  if (mode === "label" || mode === "pred") {
    code.set(mode === "label" ? data.label : pred);
    return Object.assign(colouring, { names: data.classes.map(labelName) });
  }
  if (mode === "mode") {
    // "No failure mode" first, so it is drawn underneath and in grey.
    const ids = [...new Set(data.mode)].sort((a, b) => (a < 0 ? -1 : b < 0 ? 1 : a - b));
    const position = new Map(ids.map((c, i) => [c, i]));
    data.mode.forEach((c, i) => { code[i] = position.get(c); });
    const title = (c) => app.modes.find((m) => m.number === c)?.title || "";
    return Object.assign(colouring, { names: ids.map((c) => (c < 0 ? "no failure mode" : `${c}. ${title(c)}`)),
      colours: ids.map((c, k) => (c < 0 ? MUTED : PALETTE[(k - (ids[0] < 0 ? 1 : 0)) % PALETTE.length])) });
  }
  if (mode.startsWith("flag:")) {
    const name = mode.slice(5);
    code.set(unpackMask(data.flags[name], n));
    return Object.assign(colouring, { names: [`not ${flagTitle(name)}`, flagTitle(name)], colours: [MUTED, ALERT] });
  }
  for (let i = 0; i < n; i++) code[i] = data.label[i] === pred[i] ? 0 : 1;
  return Object.assign(colouring, { names: ["prediction = label", "prediction ≠ label"], colours: [MUTED, ALERT] });
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
  return [["agreement", "prediction vs label"], ["label", "label"], ["pred", "prediction"], ["mode", "failure mode"],
    ...app.summary.flags.map((f) => ["flag:" + f.name, f.title])];
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
    colourChoices().map(([value, text]) => el("option", { value }, "colour by " + text)));
  const modes = el("div", { id: "map-modes", class: "map-modes", role: "group", "aria-label": "drag mode" },
    MODES.map((m) => el("button", { type: "button", value: m, onclick: () => setMode(m) }, m)),
    el("button", { type: "button", id: "map-density", "aria-pressed": "false", title: "colour by how many clips overlap",
      onclick: (e) => {
        const on = e.target.getAttribute("aria-pressed") !== "true";
        e.target.setAttribute("aria-pressed", String(on));
        cloud?.setDensity(on);
      } }, "density"));
  root.replaceChildren(
    el("div", { class: "map-tools" }, colour, modes, el("span", { class: "hint" },
      "Drag or arrow keys to pan, wheel or +/− to zoom, 0 or double-click to reset; shift-drag, box or lasso selects; click a point to play it.")),
    el("div", { class: "map-area" }, el("div", { id: "map-plot", class: "map-plot", tabindex: 0, "aria-label": "embedding map" },
      el("div", { id: "map-tip", class: "map-tip", hidden: true })),
    el("div", { class: "map-side" }, el("p", { class: "hint" }, "Click an entry to hide or show it; “only” shows it alone."),
      el("ul", { id: "map-legend", class: "map-legend" }))),
    el("h3", { id: "selection-title" }), el("div", { id: "selection" }));
}

let hoverTicket = 0;
async function preview(i, tip) {
  const ticket = ++hoverTicket;
  const { clips } = await getJSON(`/api/clips/by-id?ids=${i}&prediction=${app.view}`);
  if (ticket !== hoverTicket || tip.hidden) return;
  const card = clips[0];
  tip.querySelector(".tip-extra").replaceChildren(el("img", { src: mediaUrl("spectrogram", card.path), alt: "" }),
    el("div", {}, card.path), card.mode > 0 ? el("div", {}, `failure mode ${card.mode}`) : "");
}

function startCloud(data) {
  const plot = document.getElementById("map-plot");
  const tip = document.getElementById("map-tip");
  cloud = new PointCloud(plot, data.x, data.y, {
    onHover(i, clientX, clientY) {
      tip.hidden = i < 0;
      if (i < 0) return;
      const box = plot.getBoundingClientRect();
      const pred = data.pred[app.view];
      tip.replaceChildren(el("div", { class: "tip-labels" }, `${labelName(data.classes[data.label[i]])} → ${labelName(data.classes[pred[i]])}`),
        el("div", { class: "tip-extra" }));
      tip.style.left = `${Math.min(clientX - box.left + 12, box.width - 200)}px`;
      tip.style.top = `${Math.min(clientY - box.top + 12, box.height - 120)}px`;
      preview(i, tip).catch(() => {});
    },
    async onClick(i) {
      const { clips } = await getJSON(`/api/clips/by-id?ids=${i}`);
      playClip(clips[0].path);
    },
    onSelect: (ids) => showPicked(ids.filter((i) => mask[i] && visible(i))),
  });
  plot.pointcloud = cloud; // for the browser tests, which aim the mouse at known points
  setMode("pan");
}

// A point is visible unless the legend hides its category.
function visible(i) {
  const { names, code } = colouring;
  const off = hidden.get(colouring.key.split("|")[0]);
  return !off || !off.has(names[code[i]]);
}

function legend(drawn, mode) {
  const off = hidden.get(mode) || new Set();
  const entries = drawn.filter((g) => !g.background);
  const toggle = (name) => { off.has(name) ? off.delete(name) : off.add(name); hidden.set(mode, off); redraw(); };
  const solo = (name) => { hidden.set(mode, new Set(entries.map((g) => g.name).filter((n) => n !== name))); redraw(); };
  document.getElementById("map-legend").replaceChildren(...drawn.map((g) => el("li", { class: off.has(g.name) ? "off" : "" },
    g.background ? el("span", { class: "legend-entry" }, el("span", { class: "swatch", style: `background:${g.colour}` }), g.name)
      : el("button", { type: "button", class: "legend-entry", "aria-pressed": String(!off.has(g.name)), "data-name": g.name,
        title: off.has(g.name) ? "show" : "hide", onclick: () => toggle(g.name) },
      el("span", { class: "swatch", style: `background:${g.colour}` }), g.name),
    g.background ? null : el("button", { type: "button", class: "solo", "aria-label": "show only " + g.name, onclick: () => solo(g.name) }, "only"),
    el("span", { class: "count" }, g.ids.length.toLocaleString()))));
}

function redraw() {
  if (!mapData || !mask || !cloud) return;
  mapData.then((data) => {
    const mode = document.getElementById("map-colour").value;
    const drawn = groups(data, mode);
    const off = hidden.get(mode) || new Set();
    cloud.setGroups(drawn.filter((g) => !off.has(g.name)));
    legend(drawn, mode);
    keepSelectionVisible();
  });
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
  const [data, maskResult] = await Promise.all([loadMap(), getJSON(`/api/mask?${filterQuery(state)}`)]);
  if (ticket !== latest) return;
  mask = unpackMask(maskResult.mask, data.x.length);
  app.view = currentPrediction(state);
  if (!cloud) startCloud(data);
  const select = document.getElementById("map-colour");
  select.value = colourChoices().some(([value]) => value === state.color) ? state.color : colourChoices()[0][0];
  const mode = select.value;
  const drawn = groups(data, mode);
  const off = hidden.get(mode) || new Set();
  cloud.setGroups(drawn.filter((g) => !off.has(g.name)));
  legend(drawn, mode);
  cloud.setHighlight([...app.picked]);
  document.getElementById("map-plot").dataset.shown = String(maskResult.total);
}

// Clips the legend hides leave the selection too: the selection is always what the map shows.
function keepSelectionVisible() {
  const before = app.picked.size;
  for (const id of [...app.picked]) if (!mask[id] || !visible(id)) app.picked.delete(id);
  const dropped = before - app.picked.size;
  if (dropped) showPicked([...app.picked], `${dropped} left the selection: hidden on the map`);
  else cloud.setHighlight([...app.picked]);
}

// After a filter change the selection keeps only clips the filter shows, and the bar says so.
export async function dropOutsideFilter(state) {
  if (!app.picked.size) return;
  const result = await getJSON(`/api/mask?${filterQuery(state)}`);
  const keep = unpackMask(result.mask, app.summary.clips);
  const before = app.picked.size;
  for (const id of [...app.picked]) if (!keep[id]) app.picked.delete(id);
  const dropped = before - app.picked.size;
  if (!dropped) return;
  const note = `${dropped} left the selection: outside the filter`;
  if (document.getElementById("map-plot")) showPicked([...app.picked], note);
  else updatePickedBar(note);
}

function showPicked(ids, note = "") {
  app.picked = new Set(ids);
  updatePickedBar(note);
  cloud?.setHighlight(ids);
  document.getElementById("selection-title").textContent = ids.length ? `${ids.length} selected clips` : "";
  showSelection(ids, document.getElementById("selection"));
}

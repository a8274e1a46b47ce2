// Talking to the server, keeping the app's state in the URL, and building DOM safely.
// Every shared name (filter keys, sort keys, page size, special labels) comes from /api/schema.

export const app = { schema: null, summary: null, picked: new Set(), issues: [] }; // page-wide state

export async function loadSchema() {
  app.schema = await getJSON("/api/schema");
  return app.schema;
}

const listKeys = () => new Set(app.schema.list_filter_keys);

export function readState() {
  const params = new URLSearchParams(location.search);
  const state = { view: params.get("view") || "overview" };
  for (const key of listKeys()) state[key] = params.getAll(key);
  for (const [key, value] of params) if (!listKeys().has(key) && key !== "view") state[key] = value;
  return state;
}

function toQuery(state) {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(state)) {
    if (value === undefined || value === null || value === "") continue;
    if (Array.isArray(value)) value.forEach((v) => params.append(key, v));
    else params.set(key, value);
  }
  return params;
}

export function filterOf(state) {
  const filter = {};
  for (const key of app.schema.filter_keys) {
    const value = state[key];
    if (value === undefined || value === "" || (Array.isArray(value) && !value.length)) continue;
    filter[key] = value;
  }
  return filter;
}

export const filterQuery = (state) => toQuery(filterOf(state)).toString();
export const hasFilter = (state) => Object.keys(filterOf(state)).some((k) => k !== "prediction");

let onNavigate = () => {};
export function setNavigateHandler(handler) { onNavigate = handler; }

// Changes the state: a new history entry (so Back undoes it) unless `replace`.
export function navigate(changes, { replace = false, reset = false } = {}) {
  const current = readState();
  const kept = reset ? { view: current.view, prediction: current.prediction } : current;
  const next = { ...kept, ...changes };
  if (!("page" in changes)) delete next.page; // a new filter starts on page 1
  const url = "?" + toQuery(next).toString();
  if (replace) history.replaceState(null, "", url); else history.pushState(null, "", url);
  onNavigate();
}

// A server error as one readable sentence: 422s carry `detail` in words (see guard.py).
async function failure(what, response) {
  const text = await response.text();
  let detail = text;
  try { detail = JSON.parse(text).detail ?? text; } catch { /* plain text body */ }
  const error = new Error(`${what}: ${typeof detail === "string" ? detail : JSON.stringify(detail)}`);
  error.status = response.status;
  error.detail = detail;
  return error;
}

export async function getJSON(url) {
  const response = await fetch(url);
  if (!response.ok) throw await failure(url.split("?")[0], response);
  return response.json();
}

export async function send(method, url, body) {
  const response = await fetch(url, {
    method, headers: { "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!response.ok) throw await failure(`${method} ${url.split("?")[0]}`, response);
  return response.status === 204 ? null : response.json();
}

// Element builder: strings become text nodes, never HTML, so user text cannot inject markup.
export function el(tag, attrs = {}, ...children) {
  const svg = ["svg", "rect", "line", "text", "path", "g", "title"].includes(tag) && attrs.svg !== false;
  const node = svg ? document.createElementNS("http://www.w3.org/2000/svg", tag) : document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false || key === "svg") continue;
    if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key === "class") node.setAttribute("class", value);
    else if (!svg && key in node && typeof value !== "string") node[key] = value;
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

// A message at the bottom right; `action` ({label, run}) adds a button, e.g. Undo.
export function toast(message, { error = false, action = null } = {}) {
  const box = el("div", { class: "toast" + (error ? " error" : ""), role: error ? "alert" : "status" }, message);
  // The "u" key runs the latest undo while its message shows (keys.js).
  const forget = () => { box.remove(); if (app.undo === run) app.undo = null; };
  const run = () => { forget(); action.run(); };
  if (action) {
    app.undo = run;
    box.append(" ", el("button", { type: "button", class: "toast-action", onclick: run }, action.label + " (u)"));
  }
  document.getElementById("toasts").append(box);
  setTimeout(forget, error || action ? 10000 : 3000);
  return box;
}

// Native base64 decoding where the browser has it: the map's 2.7 MB of columns decode in a few ms
// instead of a quarter second spent in a per-character callback.
const fromBase64 = Uint8Array.fromBase64
  ? (text) => Uint8Array.fromBase64(text)
  : (text) => Uint8Array.from(atob(text), (c) => c.charCodeAt(0));

// Decodes the server's base64 bit-per-clip masks (numpy packbits order: high bit first).
export function unpackMask(base64, length) {
  const bytes = fromBase64(base64);
  const mask = new Uint8Array(length);
  for (let i = 0; i < length; i++) mask[i] = (bytes[i >> 3] >> (7 - (i & 7))) & 1;
  return mask;
}

// Decodes the server's packed numeric columns (queries.pack_array) into typed arrays.
export function unpackArray(base64, ArrayType) {
  return new ArrayType(fromBase64(base64).buffer);
}

export const mediaUrl = (kind, path) => `/api/${kind}?path=${encodeURIComponent(path)}`;
export const fmt = (value, digits = 3) => (value === null || value === undefined ? "–" : Number(value).toFixed(digits));
export const labelName = (label) => app.schema.special_labels[label] || label;
export const predictionName = (view) => app.summary.view_titles[view] || view;
export const currentPrediction = (state) => state.prediction || app.summary.default_view;
export const flagTitle = (name) => app.summary.flags.find((f) => f.name === name)?.title || name;

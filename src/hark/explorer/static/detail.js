// One clip in detail: a large spectrogram with time and frequency axes, a playhead that follows
// the audio, the waveform, the detected speech onset/offset and the cut-off tail, every detector
// score in words, the top predictions of both models, label quality, neighbours, issues.
import { app, currentPrediction, el, fmt, getJSON, labelName, mediaUrl, navigate, predictionName } from "./api.js";
import { modeName, openCorrection, spectrogramBox } from "./cards.js";

const HZ_TICKS = [250, 500, 1000, 2000, 4000, 8000];
let playing = 0; // animation frame of the playhead

function ticks(duration) {
  const step = duration > 2 ? 0.5 : 0.1;
  return Array.from({ length: Math.floor(duration / step + 1e-9) + 1 }, (_, k) => Number((k * step).toFixed(2)));
}

// Axes, onset/offset and the tail as SVG in percent of the picture, so they scale with it.
function overlay(detail, wave) {
  const { duration, mel_hz: hz } = wave;
  const x = (t) => `${(100 * t) / duration}%`;
  const row = (f) => hz.findIndex((h) => h >= f);
  const parts = [];
  for (const t of ticks(duration)) {
    parts.push(el("line", { x1: x(t), x2: x(t), y1: "100%", y2: "96%", class: "tick" }),
      el("text", { x: x(t), y: "99%", class: "tick-label", "text-anchor": t ? "middle" : "start" }, `${t}s`));
  }
  for (const f of HZ_TICKS) {
    const r = row(f);
    if (r < 0) continue;
    const y = `${100 - (100 * (r + 0.5)) / hz.length}%`;
    parts.push(el("line", { x1: 0, x2: "1.5%", y1: y, y2: y, class: "tick" }),
      el("text", { x: "2%", y, class: "tick-label", "dominant-baseline": "middle" }, f >= 1000 ? `${f / 1000} kHz` : `${f} Hz`));
  }
  if (detail.onset !== null) parts.push(el("line", { x1: x(detail.onset), x2: x(detail.onset), y1: 0, y2: "100%", class: "onset" },
    el("title", {}, `speech starts at ${detail.onset} s (detected)`)));
  if (detail.offset !== null) parts.push(el("line", { x1: x(detail.offset), x2: x(detail.offset), y1: 0, y2: "100%", class: "offset" },
    el("title", {}, `speech ends at ${detail.offset} s (detected)`)));
  const tail = detail.cutoff_tail;
  parts.push(el("rect", { x: x(duration - tail.seconds), width: x(tail.seconds), y: 0, height: "100%",
    class: tail.flagged ? "tail flagged" : "tail" },
  el("title", {}, `the last ${Math.round(tail.seconds * 1000)} ms, where the cut-off detector listens` + (tail.flagged ? ": flagged cut off" : ""))));
  return el("svg", { class: "spec-axes", width: "100%", height: "100%" }, parts);
}

function drawWaveform(canvas, wave) {
  const dpr = window.devicePixelRatio || 1;
  canvas.width = canvas.clientWidth * dpr;
  canvas.height = canvas.clientHeight * dpr;
  const context = canvas.getContext("2d");
  const { width, height } = canvas;
  context.fillStyle = "#2b6cb0";
  const n = wave.min.length;
  for (let k = 0; k < n; k++) {
    const top = ((1 - wave.max[k]) / 2) * height;
    const bottom = ((1 - wave.min[k]) / 2) * height;
    context.fillRect((k / n) * width, top, Math.max(1, width / n), Math.max(1, bottom - top));
  }
}

function topTable(title, top, label) {
  if (!top.length) return null;
  return el("div", { class: "top-k" }, el("h4", {}, title), el("ol", {}, top.map((p) => el("li", { class: p.label === label ? "is-label" : "" },
    el("span", { class: "top-label" }, labelName(p.label)), el("span", { class: "top-bar" }, el("span", { style: `width:${p.prob * 100}%` })),
    el("span", { class: "top-prob" }, `${(p.prob * 100).toFixed(1)}%`)))));
}

function follow(audio, playhead) {
  cancelAnimationFrame(playing);
  const step = () => {
    const duration = audio.duration || 1;
    playhead.style.left = `${(100 * audio.currentTime) / duration}%`;
    playhead.dataset.time = audio.currentTime.toFixed(3);
    if (!audio.paused && !audio.ended) playing = requestAnimationFrame(step);
  };
  step();
}

export async function showDetail(state, root) {
  const view = currentPrediction(state);
  const [detail, wave] = await Promise.all([
    getJSON(`/api/clip?path=${encodeURIComponent(state.path || "")}&prediction=${view}`),
    getJSON(mediaUrl("waveform", state.path || "")).catch((err) => ({ error: err.message })),
  ]);
  const card = detail.clip;
  const audio = el("audio", { id: "detail-audio", controls: true, preload: "auto", src: mediaUrl("audio", card.path) });
  const playhead = el("div", { class: "playhead", id: "playhead", "data-time": "0" });
  const picture = el("div", { class: "spec-large", id: "spec-large" }, spectrogramBox(card.path, "spec big"), playhead);
  if (!wave.error) picture.append(overlay(detail, wave));
  audio.addEventListener("play", () => follow(audio, playhead));
  audio.addEventListener("seeked", () => follow(audio, playhead));
  // A click on the picture seeks there.
  picture.addEventListener("click", (e) => {
    const box = picture.getBoundingClientRect();
    if (audio.duration) audio.currentTime = ((e.clientX - box.left) / box.width) * audio.duration;
  });
  const waveCanvas = el("canvas", { class: "waveform", "aria-label": "waveform" });
  const onCorrection = (c) => { correction.textContent = c.correction ? `corrected: ${labelName(c.correction)}` : "no correction"; };
  const correction = el("span", { class: "correction" });
  onCorrection(card);
  const media = el("div", { class: "detail-media" }, picture,
    el("p", { class: "legend-line" }, el("span", { class: "key onset" }, "speech starts"),
      el("span", { class: "key offset" }, "speech ends"),
      el("span", { class: "key tail" }, "tail the cut-off detector listens to"), el("span", {}, "click the picture to seek")),
    wave.error ? el("p", { class: "data-warning" }, wave.error) : waveCanvas, audio,
    el("h3", {}, "Nearest clips in the model's embedding"), neighbourList(detail.neighbours));
  root.replaceChildren(el("article", { class: "detail", id: "detail", tabindex: -1, "aria-label": "clip details (Space plays, Esc goes back)", "data-path": card.path },
    el("header", { class: "detail-head" },
      el("button", { type: "button", id: "detail-back", onclick: () => history.back() }, "← Back"),
      el("h2", {}, el("span", { class: "label" }, labelName(card.label)), " → ",
        el("span", { class: card.label === card.pred ? "pred" : "pred wrong" }, labelName(card.pred)),
        el("small", {}, ` ${predictionName(view)}`)),
      el("code", { class: "detail-path" }, card.path)),
    el("div", { class: "detail-body" }, media,
      el("aside", { class: "detail-facts" }, predictionFacts(detail), labelFacts(detail, correction, onCorrection),
        detectorFacts(detail), issueFacts(detail)))));
  if (!wave.error) requestAnimationFrame(() => drawWaveform(waveCanvas, wave));
  document.getElementById("detail").focus({ preventScroll: true }); // keys act on the clip, not on Back
}

const go = (changes) => (e) => { e.preventDefault(); navigate(changes, { reset: true }); };

function neighbourList(neighbours) {
  if (!neighbours.length) return el("p", { class: "empty" }, "No embeddings in this run (predictions.parquet).");
  return el("div", { class: "neighbours" }, neighbours.map((n) =>
    el("a", { href: `?view=clip&path=${encodeURIComponent(n.path)}`, class: "neighbour" + (n.label !== n.pred ? " wrong" : ""),
      onclick: go({ view: "clip", path: n.path }) },
    spectrogramBox(n.path, "spec small"), `${labelName(n.label)} → ${labelName(n.pred)}`, el("small", {}, ` d=${fmt(n.distance, 3)}`))));
}

function predictionFacts(detail) {
  const card = detail.clip;
  const percent = (p) => (p.confidence === null ? "–" : Math.round(p.confidence * 100) + "%");
  return el("section", {}, el("h3", {}, "Predictions"),
    Object.entries(detail.top).map(([view, top]) => topTable(predictionName(view), top, card.label)),
    el("p", {}, Object.entries(card.predictions).map(([name, p]) =>
      el("span", { class: "pred-line" }, `${predictionName(name)}: ${labelName(p.pred)} (${percent(p)})`)),
    card.compare ? el("span", { class: "pred-line compare-pred" }, `B (${app.summary.compare.run}): ${card.compare.pred ? labelName(card.compare.pred) : "not in B"}`) : null));
}

function labelFacts(detail, correction, onCorrection) {
  const card = detail.clip;
  const mode = detail.mode;
  const other = card.suggested_label && card.suggested_label !== card.label ? ` (closest other: ${labelName(card.suggested_label)})` : "";
  return el("section", {}, el("h3", {}, "Label"),
    el("p", {}, `label quality ${fmt(card.label_quality, 2)} (0 = surely wrong, 1 = surely right)`),
    el("p", {}, card.label_issue ? `hark thinks the label is wrong; suggested label: ${labelName(card.suggested_label)}`
      : `the label looks right${other}`),
    el("p", {}, correction, " ", el("button", { type: "button", id: "detail-correct", onclick: () => openCorrection(card, onCorrection) }, "Correct…")),
    mode ? el("p", {}, el("a", { href: `?view=clips&mode=${mode.number}`, onclick: go({ view: "clips", mode: String(mode.number) }) },
      `${modeName(mode.number)}: ${mode.title}`)) : el("p", { class: "hint" }, "in no failure mode"),
    el("p", { class: "meta" }, `split ${card.split}${card.speaker_id ? " · speaker " + card.speaker_id : ""} · loss ${fmt(card.loss, 3)}`));
}

function detectorFacts(detail) {
  return el("section", {}, el("h3", {}, "Audio detectors"),
    el("table", { class: "scores" }, el("tr", {}, el("th", {}, "detector"), el("th", {}, "score"), el("th", {}, "flag")),
      detail.detectors.map((d) => el("tr", { class: d.flag ? "flagged" : "" },
        el("td", { title: d.flag_meaning }, d.title, el("div", { class: "meaning" }, d.score_meaning)),
        el("td", {}, fmt(d.score, 3)), el("td", {}, d.flag ? "yes" : "no")))));
}

function issueFacts(detail) {
  return el("section", {}, el("h3", {}, "Issues"),
    detail.issues.length ? el("ul", {}, detail.issues.map((i) => el("li", {},
      el("a", { href: `?view=clips&issue=${i.id}`, onclick: go({ view: "clips", issue: String(i.id) }) }, `#${i.id} ${i.title}`),
      ` (${i.status})`))) : el("p", { class: "empty" }, "In no issue."));
}

export function toggleDetailAudio() {
  const audio = document.getElementById("detail-audio");
  if (!audio) return false;
  if (audio.paused) audio.play().catch(() => {}); else audio.pause();
  return true;
}

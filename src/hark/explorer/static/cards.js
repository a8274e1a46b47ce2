// Clip cards: spectrogram, label vs prediction (both models), scores in words, flags, actions.
// A card is one tab stop; its buttons are reached with the keys listed under "?" (keys.js).
import { app, el, fmt, flagTitle, labelName, mediaUrl, navigate, predictionName, send, toast } from "./api.js";

export function playClip(path) {
  const player = document.getElementById("player");
  if (app.summary.data_problem) toast(`Cannot play: ${app.summary.data_problem}`, { error: true });
  player.src = mediaUrl("audio", path);
  player.play().catch(() => {}); // autoplay may be refused; the controls still show it
}

// The spectrogram box shows what is happening: loading, the picture, or why there is none.
export function spectrogramBox(path, className = "spec") {
  const box = el("div", { class: className + " loading" }, el("span", { class: "spec-note" },
    app.summary.data_problem ? "no audio: data folder missing" : "loading spectrogram…"));
  if (app.summary.data_problem) { box.classList.replace("loading", "missing"); box.title = app.summary.data_problem; return box; }
  const img = el("img", { loading: "lazy", src: mediaUrl("spectrogram", path), alt: "log-mel spectrogram of " + path,
    onload: () => box.classList.remove("loading"),
    onerror: () => { box.classList.replace("loading", "missing"); img.remove();
      box.querySelector(".spec-note").textContent = "no spectrogram: the audio is missing or unreadable"; } });
  box.append(img);
  return box;
}

export function modeName(number) {
  return number > 0 ? `failure mode ${number}` : "";
}

// Writes a correction and offers to undo it on the spot.
export async function saveCorrection(card, label, onChange = () => {}) {
  const previous = card.correction;
  const apply = async (value) => {
    if (value) await send("PUT", "/api/corrections", { path: card.path, label: value });
    else await send("DELETE", `/api/corrections?path=${encodeURIComponent(card.path)}`);
    card.correction = value || null;
    onChange(card);
  };
  try {
    await apply(label);
    toast(label ? `${card.path}: marked ${labelName(label)}` : `${card.path}: correction removed`, {
      action: { label: "Undo", run: () => apply(previous).then(() => toast(`${card.path}: undone`))
        .catch((err) => toast(err.message, { error: true })) },
    });
  } catch (err) { toast(err.message, { error: true }); }
}

// The correction dialog: choosing a label writes nothing; only "Save correction" does.
export function openCorrection(card, onChange) {
  const dialog = document.getElementById("correct-dialog");
  const select = dialog.querySelector("select");
  select.replaceChildren(...app.summary.correction_labels.map((label) =>
    el("option", { value: label, selected: (card.correction || card.suggested_label || card.label) === label },
      labelName(label) + (label === card.label ? " (current label)" : "") +
      (label === card.suggested_label && card.label_issue ? " (suggested)" : ""))));
  dialog.querySelector(".source").textContent = `${card.path}: labelled ${labelName(card.label)}`;
  dialog.querySelector("#clear-correction").hidden = !card.correction;
  dialog.querySelector("#clear-correction").onclick = () => { dialog.close(); saveCorrection(card, null, onChange); };
  dialog.querySelector("form").onsubmit = (e) => {
    e.preventDefault();
    dialog.close();
    saveCorrection(card, select.value, onChange);
  };
  dialog.showModal();
  select.focus();
}

function refreshCorrection(node, card) {
  node.classList.toggle("corrected", !!card.correction);
  node.querySelector(".correction").textContent = card.correction ? "corrected: " + labelName(card.correction) : "";
}

const button = (cls, text, onclick, label) => el("button", { type: "button", class: cls, tabindex: -1, onclick,
  "aria-label": label }, text);

export function openDetail(card) { navigate({ view: "clip", path: card.path }); }

export function renderCard(card, { issueId = null, distance = null } = {}) {
  const view = app.view;
  const wrong = card.label !== card.pred;
  const other = Object.entries(card.predictions).find(([name]) => name !== view);
  const pick = el("input", {
    type: "checkbox", class: "pick", tabindex: -1, checked: app.picked.has(card.id), "aria-label": "select clip",
    onchange: () => { pick.checked ? app.picked.add(card.id) : app.picked.delete(card.id); updatePickedBar(); },
  });
  const node = el("article", { class: "card" + (wrong ? " wrong" : ""), "data-id": card.id, tabindex: -1,
    "aria-label": `${card.path}: label ${card.label}, predicted ${card.pred}` });
  const actions = [
    button("play", "▶ Play", () => playClip(card.path), "play " + card.path),
    button("details", "Details", () => openDetail(card)),
    button("similar", "Similar", () => navigate({ view: "similar", path: card.path }, { reset: true })),
    button("correct", "Correct…", () => openCorrection(card, (c) => refreshCorrection(node, c))),
    el("label", { class: "pick-label" }, pick, "select"),
  ];
  if (issueId !== null) {
    actions.push(button("remove-from-issue", "Remove from issue", async () => {
      await send("POST", `/api/issues/${issueId}/clips/remove`, { ids: [card.id] });
      toast(`${card.path}: removed from issue #${issueId}`, { action: { label: "Undo", run: async () => {
        await send("POST", `/api/issues/${issueId}/clips`, { ids: [card.id] });
        navigate({}, { replace: true });
      } } });
      navigate({}, { replace: true });
    }));
  }
  node.append(...[
    spectrogramBox(card.path),
    el("div", { class: "verdict" },
      el("span", { class: "label", title: "label in the dataset" }, labelName(card.label)), " → ",
      el("span", { class: "pred", title: `predicted (${predictionName(view)})` }, labelName(card.pred)),
      el("span", { class: "conf", title: `${predictionName(view)} confidence` }, card.confidence === null ? "" : `${Math.round(card.confidence * 100)}% sure`)),
    other && other[1].pred !== card.pred
      ? el("div", { class: "other-pred" }, `${predictionName(other[0])}: ${labelName(other[1].pred)}`) : null,
    card.compare ? el("div", { class: "compare-pred" + (card.compare.pred === card.label ? " right" : " wrong") },
      `B (${app.summary.compare.run}): `, card.compare.pred ? labelName(card.compare.pred) : "not in B") : null,
    el("div", { class: "meta" },
      `loss ${fmt(card.loss, 2)} · label quality ${fmt(card.label_quality, 2)} · ${card.split}`,
      distance !== null ? ` · distance ${fmt(distance, 3)}` : ""),
    el("div", { class: "flags" },
      card.mode > 0 ? el("a", { href: `?view=clips&mode=${card.mode}`, class: "flag mode-chip", tabindex: -1, title: "open this failure mode",
        onclick: (e) => { e.preventDefault(); navigate({ view: "clips", mode: String(card.mode) }, { reset: true }); } },
      `failure mode ${card.mode}`) : null,
      card.label_issue ? el("span", { class: "flag label-issue", title: "hark thinks the label is wrong" },
        "label issue" + (card.suggested_label && card.suggested_label !== card.label ? `: maybe ${labelName(card.suggested_label)}` : "")) : null,
      card.flags.map((f) => el("span", { class: "flag" }, flagTitle(f)))),
    el("div", { class: "path", title: card.path }, card.path),
    el("div", { class: "correction" }),
    el("div", { class: "actions" }, actions)].filter(Boolean));
  node.card = card;
  refreshCorrection(node, card);
  return node;
}

export function renderCards(container, cards, options = {}) {
  if (container.id === "grid" || container.id === "selection-grid") app.walk = cards.map((c) => c.path); // j/k in the details
  container.replaceChildren(...cards.map((card) => renderCard(card, { ...options, distance: card.distance ?? null })));
  if (!cards.length) container.append(el("p", { class: "empty" }, "No clips match."));
  const first = container.querySelector(".card");
  if (first) first.tabIndex = 0;
}

export function pager(total, page, pageSize, onPage) {
  const pages = Math.max(1, Math.ceil(total / pageSize));
  return el("nav", { class: "pager" },
    el("button", { type: "button", disabled: page <= 1, onclick: () => onPage(page - 1) }, "‹ Prev"),
    el("span", {}, `page ${page} of ${pages} · ${total.toLocaleString()} clips`),
    el("button", { type: "button", disabled: page >= pages, onclick: () => onPage(page + 1) }, "Next ›"));
}

// The selection bar always takes its place in the layout (no jump when a selection appears).
export function updatePickedBar(note = "") {
  const bar = document.getElementById("picked-bar");
  bar.classList.toggle("empty", app.picked.size === 0);
  document.getElementById("picked-count").textContent = app.picked.size
    ? `${app.picked.size} selected${note ? " · " + note : ""}` : (note || "No clips selected (tick cards, or box/lasso on the map)");
  for (const id of ["issue-from-picked", "add-to-issue", "clear-picked"]) document.getElementById(id).disabled = !app.picked.size;
  const target = document.getElementById("add-to-issue");
  target.replaceChildren(el("option", { value: "" }, "Add to issue…"),
    app.issues.map((issue) => el("option", { value: issue.id }, `#${issue.id} ${issue.title}`)));
}

// Keyboard: one tab stop per card list, keys to move and act (listed in the "?" dialog). No key
// writes data on its own: "c" opens the correction dialog, where only "Save correction" writes.
import { app, el, navigate } from "./api.js";
import { openDetail, playClip, updatePickedBar } from "./cards.js";
import { toggleDetailAudio } from "./detail.js";

export const SHORTCUTS = [
  ["j / → / ↓", "next clip (also in the details)"], ["k / ← / ↑", "previous clip"], ["Space", "play the clip"],
  ["Enter", "open the clip's details"], ["x", "select or unselect the clip"],
  ["c", "correct the label (opens a dialog; nothing is saved until you confirm)"], ["s", "similar clips"],
  ["u", "undo the last change (while its message shows)"], ["/", "search paths"], ["Esc", "close a dialog; from the details, back to the list"], ["?", "this list"],
  ["map: arrows / + / − / 0", "pan, zoom in, zoom out, reset"],
];
const NEXT = new Set(["j", "ArrowRight", "ArrowDown"]);
const PREVIOUS = new Set(["k", "ArrowLeft", "ArrowUp"]);

function typing(target) {
  return target.closest?.("input, select, textarea, [contenteditable], dialog") !== null;
}

export function focusCard(card) {
  const list = card.parentElement;
  for (const other of list.querySelectorAll(":scope > .card[tabindex='0']")) other.tabIndex = -1;
  card.tabIndex = 0;
  card.focus();
}

function move(card, step) {
  const cards = [...card.parentElement.querySelectorAll(":scope > .card")];
  const next = cards[cards.indexOf(card) + step];
  if (next) focusCard(next);
}

function onCard(card, key, event) {
  const data = card.card;
  if (NEXT.has(key)) move(card, 1);
  else if (PREVIOUS.has(key)) move(card, -1);
  else if (key === " ") playClip(data.path);
  else if (key === "Enter") openDetail(data);
  else if (key === "x") {
    const pick = card.querySelector(".pick");
    pick.checked = !pick.checked;
    pick.checked ? app.picked.add(data.id) : app.picked.delete(data.id);
    updatePickedBar();
  } else if (key === "c") card.querySelector("button.correct").click();
  else if (key === "s") card.querySelector("button.similar").click();
  else return false;
  event.preventDefault();
  return true;
}

function showHelp() {
  const dialog = document.getElementById("help");
  dialog.querySelector("dl").replaceChildren(...SHORTCUTS.flatMap(([keys, what]) => [el("dt", {}, el("kbd", {}, keys)), el("dd", {}, what)]));
  dialog.showModal();
}

export function installKeys() {
  document.getElementById("show-help").addEventListener("click", showHelp);
  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) return;
    const key = event.key;
    if ((key === " " || key === "Enter") && event.target.matches("button, a")) return; // the control's own action
    if (key === "?") { event.preventDefault(); showHelp(); return; }
    if (key === "u" && app.undo) { event.preventDefault(); app.undo(); return; }
    if (key === "/") {
      const search = document.querySelector("#filters input[name=search]");
      if (search && !search.closest("[hidden]")) { event.preventDefault(); search.focus(); }
      return;
    }
    const card = event.target.closest?.(".card");
    if (card && card.card && onCard(card, key, event)) return;
    if (document.getElementById("view").dataset.view === "clip") {
      const walk = app.walk || [];
      const here = walk.indexOf(new URLSearchParams(location.search).get("path"));
      const step = NEXT.has(key) ? 1 : PREVIOUS.has(key) ? -1 : 0;
      if (step && here >= 0 && walk[here + step]) {
        event.preventDefault();
        navigate({ path: walk[here + step] }, { replace: true }); // Back still returns to the list
      } else if (key === " " && toggleDetailAudio()) event.preventDefault();
      else if (key === "c") document.getElementById("detail-correct")?.click();
      else if (key === "Escape") history.back();
      return;
    }
    if ((key === "j" || key === "k") && !card) {
      const first = document.querySelector("#view .card");
      if (first) { event.preventDefault(); focusCard(first); }
    }
  });
}

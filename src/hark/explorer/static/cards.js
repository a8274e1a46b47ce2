// Clip cards: spectrogram, player, label vs prediction, scores, flags, and per-clip actions.
import { el, fmt, mediaUrl, navigate, send, toast } from "./api.js";

export const app = { summary: null, picked: new Set(), issues: [] }; // shared page-wide state

const SPECIAL = { _cutoff_: "cut-off", unusable: "unusable" };
export const labelName = (label) => SPECIAL[label] || label;

function correctionSelect(card) {
  const select = el("select", {
    class: "correct", "aria-label": "correct the label",
    onchange: async () => {
      try {
        if (select.value === "__clear__") await send("DELETE", `/api/corrections?path=${encodeURIComponent(card.path)}`);
        else await send("PUT", "/api/corrections", { path: card.path, label: select.value });
        card.correction = select.value === "__clear__" ? null : select.value;
        select.closest(".card").classList.toggle("corrected", !!card.correction);
        toast(card.correction ? `${card.path}: marked ${labelName(card.correction)}` : `${card.path}: correction removed`);
      } catch (err) { toast(err.message, true); }
    },
  },
  el("option", { value: "", disabled: true, selected: !card.correction }, "Correct label…"),
  app.summary.correction_labels.map((label) =>
    el("option", { value: label, selected: card.correction === label }, "→ " + labelName(label))),
  card.correction ? el("option", { value: "__clear__" }, "✕ clear correction") : null);
  return select;
}

// A plain button that turns into the audio player when pressed: 60 native players cost a filter
// change most of its time in building and laying out their controls.
function playButton(path) {
  const button = el("button", { type: "button", class: "play", "aria-label": "play " + path, onclick: () => {
    const player = el("audio", { controls: true, autoplay: true, src: mediaUrl("audio", path) });
    button.replaceWith(player);
    player.play().catch(() => {}); // autoplay may be refused; the controls still show it
  } }, "▶ play");
  return button;
}

export function renderCard(card, { issueId = null, distance = null } = {}) {
  const wrong = card.label !== card.pred;
  const pick = el("input", {
    type: "checkbox", class: "pick", checked: app.picked.has(card.id), "aria-label": "select clip",
    onchange: () => { pick.checked ? app.picked.add(card.id) : app.picked.delete(card.id); updatePickedBar(); },
  });
  const actions = [
    el("label", { class: "pick-label" }, pick, "select"),
    el("button", { type: "button", class: "similar", onclick: () => navigate({ view: "similar", path: card.path }, { reset: true }) }, "Similar"),
    correctionSelect(card),
  ];
  if (issueId !== null) {
    actions.push(el("button", {
      type: "button", class: "remove-from-issue",
      onclick: async () => {
        await send("POST", `/api/issues/${issueId}/clips/remove`, { ids: [card.id] });
        navigate({}, { replace: true });
      },
    }, "Remove from issue"));
  }
  return el("article", { class: "card" + (wrong ? " wrong" : "") + (card.correction ? " corrected" : ""), "data-id": card.id },
    el("img", { class: "spec", loading: "lazy", src: mediaUrl("spectrogram", card.path), alt: "spectrogram of " + card.path,
      onerror: (e) => e.target.replaceWith(el("div", { class: "spec missing" }, "no spectrogram: the audio is unreadable")) }),
    el("div", { class: "verdict" },
      el("span", { class: "label", title: "label" }, card.label), " → ",
      el("span", { class: "pred", title: "prediction" }, card.pred),
      el("span", { class: "conf", title: "confidence" }, fmt(card.confidence, 2))),
    playButton(card.path),
    el("div", { class: "meta" },
      `loss ${fmt(card.loss, 2)} · quality ${fmt(card.label_quality, 2)} · ${card.split}`,
      card.speaker_id ? ` · spk ${card.speaker_id}` : "", card.cluster >= 0 ? ` · cluster ${card.cluster}` : "",
      distance !== null ? ` · dist ${fmt(distance, 3)}` : ""),
    el("div", { class: "flags" },
      card.label_issue ? el("span", { class: "flag label-issue" }, "label issue") : null,
      card.flags.map((f) => el("span", { class: "flag" }, f))),
    el("div", { class: "path", title: card.path }, card.path),
    card.correction ? el("div", { class: "correction" }, "corrected: " + labelName(card.correction)) : null,
    el("div", { class: "actions" }, actions));
}

export function renderCards(container, cards, options = {}) {
  container.replaceChildren(...cards.map((card) => renderCard(card, { ...options, distance: card.distance ?? null })));
  if (!cards.length) container.append(el("p", { class: "empty" }, "No clips match."));
}

export function pager(total, page, pageSize, onPage) {
  const pages = Math.max(1, Math.ceil(total / pageSize));
  return el("nav", { class: "pager" },
    el("button", { type: "button", disabled: page <= 1, onclick: () => onPage(page - 1) }, "‹ Prev"),
    el("span", {}, `page ${page} of ${pages} · ${total.toLocaleString()} clips`),
    el("button", { type: "button", disabled: page >= pages, onclick: () => onPage(page + 1) }, "Next ›"));
}

export function updatePickedBar() {
  const bar = document.getElementById("picked-bar");
  bar.hidden = app.picked.size === 0;
  document.getElementById("picked-count").textContent = `${app.picked.size} selected`;
  const target = document.getElementById("add-to-issue");
  target.replaceChildren(el("option", { value: "" }, "Add to issue…"),
    app.issues.map((issue) => el("option", { value: issue.id }, `#${issue.id} ${issue.title}`)));
}

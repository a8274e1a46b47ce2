// The clips view (a page of cards for the current filter) and the similar-clips view.
import { el, filterQuery, getJSON, mediaUrl, navigate } from "./api.js";
import { app, pager, renderCard, renderCards } from "./cards.js";

export const PAGE_SIZE = 60;
let latest = 0; // a slow answer for an old filter must not overwrite a newer one

export async function showClips(state, root) {
  const ticket = ++latest;
  const page = Math.max(1, parseInt(state.page || "1", 10));
  const query = `${filterQuery(state)}&sort=${state.sort || "loss"}&order=${state.order || "desc"}` +
    `&offset=${(page - 1) * PAGE_SIZE}&limit=${PAGE_SIZE}`;
  const [result, issue] = await Promise.all([
    getJSON(`/api/clips?${query}`),
    state.issue ? getJSON(`/api/issues/${state.issue}`).catch(() => null) : null,
  ]);
  if (state.finding !== undefined && !app.findings) app.findings = (await getJSON("/api/metrics")).findings;
  if (ticket !== latest) return;
  const banner = issue ? el("section", { class: "issue-banner" },
    el("h2", {}, `Issue #${issue.id}: `, el("span", { class: "issue-title" }, issue.title),
      el("span", { class: "status " + issue.status }, issue.status)),
    el("p", { class: "notes" }, issue.notes)) : null;
  const finding = state.finding !== undefined ? app.findings[state.finding] : null;
  const findingBanner = finding ? el("section", { class: "issue-banner" },
    el("h2", {}, finding.title), el("p", { class: "notes" }, finding.description)) : null;
  const grid = el("div", { class: "grid", id: "grid" });
  renderCards(grid, result.clips, { issueId: issue ? issue.id : null });
  const onPage = (p) => navigate({ page: String(p) });
  root.replaceChildren(banner || findingBanner || "", pager(result.total, page, PAGE_SIZE, onPage), grid,
    pager(result.total, page, PAGE_SIZE, onPage));
  root.dataset.total = result.total;
}

export async function showSimilar(state, root) {
  const result = await getJSON(`/api/similar?path=${encodeURIComponent(state.path)}&k=24`);
  const grid = el("div", { class: "grid" });
  renderCards(grid, result.neighbours);
  root.replaceChildren(
    el("h2", {}, "Clips nearest to ", el("code", {}, result.clip.path), " in embedding space"),
    el("div", { class: "grid" }, renderCard(result.clip)), el("h3", {}, "Nearest neighbours"), grid);
}

// The map's selection shown as cards, a page at a time (ids can be 100k long).
export async function showSelection(ids, root, page = 1) {
  const slice = ids.slice((page - 1) * PAGE_SIZE, page * PAGE_SIZE);
  const query = slice.map((id) => `ids=${id}`).join("&");
  const result = slice.length ? await getJSON(`/api/clips/by-id?${query}`) : { clips: [] };
  const grid = el("div", { class: "grid", id: "selection-grid" });
  renderCards(grid, result.clips);
  root.replaceChildren(pager(ids.length, page, PAGE_SIZE, (p) => showSelection(ids, root, p)), grid);
}

export function playClip(path) {
  const player = document.getElementById("player");
  player.src = mediaUrl("audio", path);
  player.play().catch(() => {}); // autoplay may be refused; the controls still show it
}

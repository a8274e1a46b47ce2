// The clips view (a page of cards for the current filter), the similar-clips view and the map's
// selection as cards.
import { app, el, filterQuery, getJSON, navigate } from "./api.js";
import { pager, renderCard, renderCards } from "./cards.js";

let latest = 0; // a slow answer for an old filter must not overwrite a newer one

export async function showClips(state, root) {
  const ticket = ++latest;
  const pageSize = app.schema.page_size;
  const page = Math.max(1, parseInt(state.page || "1", 10) || 1);
  const query = `${filterQuery(state)}&sort=${state.sort || app.schema.default_sort}&order=${state.order || "desc"}` +
    `&offset=${(page - 1) * pageSize}&limit=${pageSize}`;
  const [result, issue] = await Promise.all([
    getJSON(`/api/clips?${query}`),
    state.issue ? getJSON(`/api/issues/${encodeURIComponent(state.issue)}`).catch(() => null) : null,
  ]);
  if (ticket !== latest) return;
  const banner = issue ? el("section", { class: "issue-banner" },
    el("h2", {}, `Issue #${issue.id}: `, el("span", { class: "issue-title" }, issue.title),
      el("span", { class: "status " + issue.status }, issue.status)),
    el("p", { class: "notes" }, issue.notes)) : null;
  const mode = state.mode ? app.modes?.find((m) => String(m.number) === state.mode) : null;
  const modeBanner = mode ? el("section", { class: "issue-banner mode-banner" },
    el("h2", {}, `Failure mode ${mode.number}: ${mode.title}`), el("p", { class: "notes" }, mode.description)) : null;
  const grid = el("div", { class: "grid", id: "grid", role: "list", "aria-label": "clips (j/k to move, ? for keys)" });
  renderCards(grid, result.clips, { issueId: issue ? issue.id : null });
  const onPage = (p) => navigate({ page: String(p) });
  root.replaceChildren(banner || modeBanner || "", pager(result.total, page, pageSize, onPage), grid,
    pager(result.total, page, pageSize, onPage));
  root.dataset.total = result.total;
}

export async function showSimilar(state, root) {
  const result = await getJSON(`/api/similar?path=${encodeURIComponent(state.path)}&k=24&${filterQuery(state)}`);
  const grid = el("div", { class: "grid", id: "grid" });
  renderCards(grid, result.neighbours);
  root.replaceChildren(
    el("h2", {}, "Clips nearest to ", el("code", {}, result.clip.path), " in embedding space"),
    el("div", { class: "grid" }, renderCard(result.clip)), el("h3", {}, "Nearest neighbours"), grid);
}

// The map's selection shown as cards, a page at a time (ids can be 100k long).
export async function showSelection(ids, root, page = 1) {
  const pageSize = app.schema.page_size;
  const slice = ids.slice((page - 1) * pageSize, page * pageSize);
  const query = slice.map((id) => `ids=${id}`).join("&");
  const result = slice.length ? await getJSON(`/api/clips/by-id?${query}&prediction=${app.view}`) : { clips: [] };
  const grid = el("div", { class: "grid", id: "selection-grid" });
  renderCards(grid, result.clips);
  root.replaceChildren(slice.length ? pager(ids.length, page, pageSize, (p) => showSelection(ids, root, p)) : "", grid);
}

// Issues (titled groups of clips with notes and a status) and label corrections.
import { app, el, getJSON, labelName, navigate, send, toast } from "./api.js";
import { updatePickedBar } from "./cards.js";

export async function refreshIssues() {
  app.issues = (await getJSON("/api/issues")).issues;
  updatePickedBar();
  return app.issues;
}

function issueRow(issue) {
  const title = el("input", { class: "edit-title", value: issue.title, "aria-label": "title", maxlength: 200 });
  const notes = el("textarea", { class: "edit-notes", "aria-label": "notes", rows: 3, maxlength: 20000 });
  notes.value = issue.notes;
  const status = el("select", { class: "edit-status", "aria-label": "status" },
    app.schema.issue_statuses.map((s) => el("option", { value: s, selected: s === issue.status }, s)));
  const editor = el("form", { class: "editor", hidden: true,
    onsubmit: async (e) => {
      e.preventDefault();
      try {
        await send("PATCH", `/api/issues/${issue.id}`, { title: title.value, notes: notes.value, status: status.value });
        toast("Issue saved");
        navigate({}, { replace: true });
      } catch (err) { toast(err.message, { error: true }); }
    } },
  title, notes, status, el("button", { type: "submit" }, "Save"));
  return el("article", { class: "issue", "data-id": issue.id },
    el("header", {}, el("span", { class: "issue-id" }, `#${issue.id}`), el("span", { class: "issue-title" }, issue.title),
      el("span", { class: "status " + issue.status }, issue.status), el("span", { class: "size" }, `${issue.size} clips`)),
    el("p", { class: "notes" }, issue.notes),
    el("div", { class: "actions" },
      el("button", { type: "button", class: "open", onclick: () => navigate({ view: "clips", issue: String(issue.id) }, { reset: true }) }, "Open clips"),
      el("button", { type: "button", class: "edit", onclick: () => { editor.hidden = !editor.hidden; } }, "Edit"),
      el("a", { class: "button", href: `/api/issues/${issue.id}/export.csv`, download: `issue-${issue.id}.csv` }, "Export CSV"),
      el("button", { type: "button", class: "delete",
        onclick: async () => {
          if (!confirm(`Delete issue #${issue.id}?`)) return;
          await send("DELETE", `/api/issues/${issue.id}`);
          navigate({}, { replace: true });
        } }, "Delete")),
    editor);
}

export async function showIssues(_state, root) {
  const issues = await refreshIssues();
  root.replaceChildren(el("h2", {}, "Issues"),
    el("p", { class: "hint" }, "Create one from the current filter (filter bar) or from selected clips (cards or map)."),
    issues.length ? el("div", { class: "issues" }, issues.map(issueRow)) : el("p", { class: "empty" }, "No issues yet."));
}

export async function showCorrections(_state, root) {
  const { corrections } = await getJSON("/api/corrections");
  const rows = corrections.map((c) => el("tr", {},
    el("td", {}, el("code", {}, c.path)), el("td", {}, labelName(c.label)),
    el("td", {}, el("button", { type: "button", onclick: async () => {
      await send("DELETE", `/api/corrections?path=${encodeURIComponent(c.path)}`);
      toast(`${c.path}: correction removed`, { action: { label: "Undo", run: async () => {
        await send("PUT", "/api/corrections", c);
        navigate({}, { replace: true });
      } } });
      navigate({}, { replace: true });
    } }, "Remove"))));
  root.replaceChildren(el("h2", {}, "Label corrections"),
    el("p", { class: "hint" }, "Apply them with ", el("code", {}, "hark fix RUN --relabel corrections.csv"), ". ",
      el("a", { class: "button", href: "/api/corrections.csv", download: "corrections.csv" }, "Export CSV")),
    corrections.length
      ? el("table", { class: "corrections" }, el("tr", {}, el("th", {}, "clip"), el("th", {}, "label"), el("th", {})), rows)
      : el("p", { class: "empty" }, "No corrections yet: use “Correct label…” on a clip card."));
}

// The dialog that names a new issue; `source` is {ids} (a selection) or {filter}.
export function openNewIssueDialog(source, description) {
  const dialog = document.getElementById("new-issue");
  dialog.querySelector(".source").textContent = description;
  dialog.querySelector("form").onsubmit = async (e) => {
    e.preventDefault();
    const form = new FormData(e.target);
    try {
      const issue = await send("POST", "/api/issues", { title: form.get("title"), notes: form.get("notes"), ...source });
      dialog.close();
      e.target.reset();
      toast(`Issue #${issue.id} created with ${issue.size} clips`, { action: { label: "Undo", run: async () => {
        await send("DELETE", `/api/issues/${issue.id}`);
        toast(`Issue #${issue.id} deleted`);
        await refreshIssues();
      } } });
      await refreshIssues();
    } catch (err) { toast(err.message, { error: true }); }
  };
  dialog.showModal();
}

export async function addPickedTo(issueId) {
  const result = await send("POST", `/api/issues/${issueId}/clips`, { ids: [...app.picked] });
  toast(`Added ${result.added} clips to issue #${issueId}`, { action: { label: "Undo", run: async () => {
    if (result.added_ids.length) await send("POST", `/api/issues/${issueId}/clips/remove`, { ids: result.added_ids });
    toast(`Issue #${issueId}: ${result.added_ids.length} clips taken out again`);
    await refreshIssues();
  } } });
  await refreshIssues();
}

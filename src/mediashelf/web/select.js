/* Selecting many assets on a page (click, shift-click for a range, select all) and the bulk
   actions on them: delete and tag, through the batch routes, with a result per asset. */

import { state } from "./state.js";
import { api } from "./api.js";
import { $, announce, el, toast } from "./dom.js";
import { displayName, sentence } from "./format.js";
import { load } from "./grid.js";
import { askConfirm } from "./dialogs.js";
import { parseTags } from "./tags.js";
import { restoreIds } from "./trash.js";

let anchorId = null; // the last asset clicked: the other end of a shift-click range

const selectable = () => state.items.filter((a) => !a.isSystem);

/* The checkbox in a card's corner. */
export function selectBox(a) {
  if (a.isSystem) return null;
  return el("input", {
    type: "checkbox",
    class: "card-select",
    "aria-label": `Select ${displayName(a)}`,
    checked: state.selected.has(a.id),
    onclick: (e) => pick(a.id, e.target.checked, e.shiftKey),
  });
}

/* Selects or unselects one asset, or (shift) every asset between it and the last one clicked. */
export function pick(id, on, range = false) {
  const ids = selectable().map((a) => a.id);
  const from = ids.indexOf(anchorId);
  const to = ids.indexOf(id);
  const span = range && from >= 0 && to >= 0 ? ids.slice(Math.min(from, to), Math.max(from, to) + 1) : [id];
  for (const x of span) {
    if (on) state.selected.add(x);
    else state.selected.delete(x);
  }
  anchorId = id;
  syncSelection();
}

export function toggle(id, range = false) {
  pick(id, !state.selected.has(id), range);
}

export function clearSelection() {
  state.selected.clear();
  anchorId = null;
  syncSelection();
}

/* Makes checkboxes, cards and the bar agree with state.selected (after a render or a click). */
export function syncSelection() {
  const ids = new Set(selectable().map((a) => a.id));
  for (const id of [...state.selected]) if (!ids.has(id)) state.selected.delete(id);
  const n = state.selected.size;
  for (const li of $("#grid").children) {
    const on = state.selected.has(li.dataset.id);
    li.classList.toggle("selected", on);
    const box = li.querySelector(".card-select");
    if (box) box.checked = on;
  }
  $("#grid").classList.toggle("selecting", n > 0);
  const bar = $("#bulk");
  bar.hidden = state.view !== "library" || ids.size === 0;
  const all = $("#select-all");
  all.checked = n > 0 && n === ids.size;
  all.indeterminate = n > 0 && n < ids.size;
  $("#bulk-count").textContent = n ? `${n} selected` : "";
  $("#bulk-actions").hidden = n === 0;
}

/* The batch routes answer one result per id; some may fail (gone, read-only). */
function failures(body) {
  const rows = Array.isArray(body) ? body : body?.results || body?.items || [];
  return rows.filter((r) => !(r.ok === true || r.status === "ok" || r.code === 200 || r.status === 200));
}

function report(verb, ids, failed, undo = null) {
  const done = ids.length - failed.length;
  const noun = (k) => (k === 1 ? "asset" : "assets");
  if (!failed.length) {
    toast(`${verb} ${done} ${noun(done)}.`, "info", undo);
    announce(`${verb} ${done} ${noun(done)}.`);
    return;
  }
  const name = (id) => displayName(state.items.find((a) => a.id === id) || { name: id });
  const why = failed.slice(0, 3).map((r) => `${name(r.id)}: ${sentence(r.message || r.error || "failed")}`).join("; ");
  toast(`${verb} ${done} of ${ids.length}. ${why}${failed.length > 3 ? "; …" : ""}`, "error");
}

async function bulkDelete() {
  const ids = [...state.selected];
  if (!ids.length) return;
  const one = ids.length === 1 ? state.items.find((a) => a.id === ids[0]) : null;
  const title = one ? `Delete “${displayName(one)}”?` : `Delete ${ids.length} assets?`;
  if (!(await askConfirm(title))) {
    $("#bulk-delete").focus();
    return;
  }
  try {
    const res = await api("/v1/assets/batch-delete", { method: "POST", json: { ids } });
    const failed = failures(await res.json());
    const gone = ids.filter((id) => !failed.some((r) => r.id === id));
    report("Deleted", ids, failed, gone.length ? { label: "Undo", run: () => restoreIds(gone) } : null);
    clearSelection();
    await load({ quiet: true });
    ($("#grid .card-hit") || $("#main")).focus();
  } catch (err) {
    if (err.code !== 401) toast(err.message, "error");
  }
}

function openBulkTags() {
  if (!state.selected.size) return;
  const dialog = $("#bulk-tags");
  $("#bulk-tags-title").textContent = `Tag ${state.selected.size} ${state.selected.size === 1 ? "asset" : "assets"}`;
  $("#bulk-add").value = "";
  $("#bulk-remove").value = "";
  $("#bulk-tags-error").textContent = "";
  dialog.showModal();
  $("#bulk-add").focus();
}

async function applyBulkTags(e) {
  e.preventDefault(); // Apply, or Enter in a field (Cancel is not a submit button)
  const add = parseTags($("#bulk-add").value);
  const remove = parseTags($("#bulk-remove").value);
  const error = add.error || remove.error || (!add.tags.length && !remove.tags.length ? "Name a tag to add or remove." : "");
  if (error) {
    $("#bulk-tags-error").textContent = error;
    return;
  }
  const ids = [...state.selected];
  $("#bulk-tags-error").textContent = ""; // this try's refusal, not the last one's
  try {
    const res = await api("/v1/assets/batch-update", { method: "POST", json: { ids, addTags: add.tags, removeTags: remove.tags } });
    report("Tagged", ids, failures(await res.json()));
    $("#bulk-tags").close();
    await load({ quiet: true });
  } catch (err) {
    if (err.code !== 401) $("#bulk-tags-error").textContent = err.message;
  }
}

export function wireSelection() {
  $("#select-all").addEventListener("change", (e) => {
    const ids = selectable().map((a) => a.id);
    if (e.target.checked) for (const id of ids) state.selected.add(id);
    else state.selected.clear();
    anchorId = null;
    syncSelection();
    announce(e.target.checked ? `${ids.length} selected.` : "Selection cleared.");
  });
  $("#bulk-clear").addEventListener("click", () => {
    clearSelection();
    $("#select-all").focus();
  });
  $("#bulk-delete").addEventListener("click", bulkDelete);
  $("#bulk-tag").addEventListener("click", openBulkTags);
  $("#bulk-tags-form").addEventListener("submit", applyBulkTags);
  $("#bulk-tags-cancel").addEventListener("click", () => $("#bulk-tags").close());
  $("#bulk-tags").addEventListener("close", () => $("#bulk-tag").focus());
}

export { bulkDelete };

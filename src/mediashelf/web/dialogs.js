/* Deleting an asset, after a confirmation dialog (also asked before deleting a selection). */

import { state } from "./state.js";
import { api } from "./api.js";
import { $, announce, toast } from "./dom.js";
import { displayName } from "./format.js";
import { load } from "./grid.js";
import { previewAsset } from "./preview.js";
import { restoreIds } from "./trash.js";

export const DELETE_NOTE = "It disappears from the library and its links stop working. It stays in the Trash for a while, where you can restore it.";

export function askConfirm(title, text = DELETE_NOTE) {
  const dialog = $("#confirm");
  $("#confirm-title").textContent = title;
  $("#confirm-text").textContent = text;
  dialog.returnValue = "";
  dialog.showModal();
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "ok"), { once: true });
  });
}

export async function confirmDelete(a) {
  if (a.isSystem) {
    toast("System library assets can't be deleted.", "error");
    return;
  }
  const returnTo = document.activeElement;
  const ok = await askConfirm(`Delete “${displayName(a)}”?`);
  if (!ok) {
    returnTo?.focus?.();
    return;
  }
  const grid = $("#grid");
  const cards = [...grid.querySelectorAll(".card-hit")];
  const idx = cards.findIndex((c) => c.closest("[data-id]")?.dataset.id === a.id);
  try {
    await api(`/v1/assets/${encodeURIComponent(a.id)}`, { method: "DELETE" });
    toast(`Deleted ${displayName(a)}.`, "info", { label: "Undo", run: () => restoreIds([a.id]) });
    announce(`${displayName(a)} deleted.`);
    if ($("#preview").open && previewAsset && previewAsset.id === a.id) $("#preview").close();
    state.items = state.items.filter((x) => x.id !== a.id);
    await load({ quiet: true });
    const after = [...grid.querySelectorAll(".card-hit")];
    const next = after[Math.min(Math.max(idx, 0), after.length - 1)];
    if (next) next.focus();
    else $("#main").focus();
  } catch (err) {
    if (err.code === 401) return;
    toast(err.message, "error");
    if (err.code === 404) load({ quiet: true });
  }
}

/* The Trash: deleted assets within their grace period, newest deletion first, each with the
   date its bytes are purged and a Restore button. */

import { state } from "./state.js";
import { api } from "./api.js";
import { $, ICONS, announce, el, svgIcon, toast } from "./dom.js";
import { TYPE_LABEL, displayName, formatDate, formatRelative, hueOf } from "./format.js";
import { load } from "./grid.js";

const TYPE_ICON = { IMAGE: ICONS.image, VIDEO: ICONS.video, AUDIO: ICONS.audio };

export function trashRow(a) {
  const name = displayName(a);
  const deleted = a.deletedAt ? `Deleted ${formatRelative(a.deletedAt)}` : "Deleted";
  const purge = a.purgeAt ? `purged ${formatRelative(a.purgeAt)} (${formatDate(a.purgeAt)})` : "";
  const meta = [TYPE_LABEL[a.type] || a.type, deleted, purge].filter(Boolean).join(" · ");
  return el(
    "li",
    { class: "card row trash-row", "data-id": a.id, "data-type": a.type },
    el("span", { class: "row-art", style: `--ph-hue:${hueOf(a.id)}` }, svgIcon(TYPE_ICON[a.type] || ICONS.image)),
    el(
      "span",
      { class: "card-body" },
      el("span", { class: "card-name", title: name, text: name }),
      el("span", { class: "card-meta", text: meta, title: a.purgeAt ? formatDate(a.purgeAt) : "" }),
    ),
    el(
      "button",
      { class: "btn btn-sm row-restore", type: "button", "aria-label": `Restore ${name}`, onclick: () => restore(a) },
      svgIcon(ICONS.retry),
      "Restore",
    ),
  );
}

/* Undo of a delete: brings the assets back, then shows the list as it is now. */
export async function restoreIds(ids) {
  let back = 0;
  for (const id of ids) {
    try {
      await api(`/v1/assets/${encodeURIComponent(id)}/restore`, { method: "POST" });
      back += 1;
    } catch (err) {
      if (err.code === 401) return;
      toast(err.message, "error");
    }
  }
  if (back) {
    toast(`Restored ${back} ${back === 1 ? "asset" : "assets"}.`);
    announce(`Restored ${back} ${back === 1 ? "asset" : "assets"}.`);
  }
  await load({ quiet: true });
}

async function restore(a) {
  const grid = $("#grid");
  const buttons = [...grid.querySelectorAll(".row-restore")];
  const idx = buttons.findIndex((b) => b.closest("[data-id]")?.dataset.id === a.id);
  try {
    await api(`/v1/assets/${encodeURIComponent(a.id)}/restore`, { method: "POST" });
    toast(`Restored ${displayName(a)}.`);
    announce(`${displayName(a)} restored to the library.`);
  } catch (err) {
    if (err.code === 401) return;
    toast(err.message, "error");
  }
  state.items = state.items.filter((x) => x.id !== a.id);
  await load({ quiet: true });
  const after = [...grid.querySelectorAll(".row-restore")];
  const next = after[Math.min(Math.max(idx, 0), after.length - 1)];
  if (next) next.focus();
  else $("#main").focus();
}

/* Rename in place: the preview's title turns into a field; Enter saves, Escape cancels. */

import { api } from "./api.js";
import { $, announce, el } from "./dom.js";
import { displayName } from "./format.js";

const MAX_NAME = 256;
let active = null; // { asset, input, onSaved }

export function isRenaming() {
  return active !== null;
}

export function startRename(asset, onSaved) {
  if (asset.isSystem) return;
  if (active) {
    active.input.focus();
    return;
  }
  const title = $("#preview-title");
  const input = el("input", {
    id: "rename-input",
    type: "text",
    class: "rename-input",
    value: displayName(asset),
    "aria-label": "New name",
    "aria-describedby": "rename-error",
    maxlength: String(MAX_NAME * 2), // the server counts characters; the field counts UTF-16 units
    autocomplete: "off",
    spellcheck: "false",
    enterkeyhint: "done",
  });
  active = { asset, input, onSaved };
  title.replaceChildren(input);
  $("#preview-rename").hidden = true;
  input.addEventListener("keydown", onKey);
  input.focus();
  input.select();
}

/* Leaves the field, showing `name` (the saved one, or the old one when canceled). */
export function endRename(name) {
  if (!active) return;
  active = null;
  $("#rename-error").textContent = "";
  $("#preview-title").textContent = name;
  $("#preview-rename").hidden = false;
}

function onKey(e) {
  if (e.key === "Escape") {
    // Escape cancels the edit, not the dialog around it.
    e.preventDefault();
    e.stopPropagation();
    const { asset } = active;
    endRename(displayName(asset));
    $("#preview-rename").focus();
  } else if (e.key === "Enter") {
    e.preventDefault();
    save();
  }
}

async function save() {
  const { asset, input, onSaved } = active;
  const name = input.value.trim();
  const error = $("#rename-error");
  if (!name) {
    error.textContent = "A name can't be empty.";
    input.setAttribute("aria-invalid", "true");
    return;
  }
  if ([...name].length > MAX_NAME) {
    error.textContent = `A name can be at most ${MAX_NAME} characters.`;
    input.setAttribute("aria-invalid", "true");
    return;
  }
  if (name === asset.name) {
    endRename(name);
    $("#preview-rename").focus();
    return;
  }
  // the last refusal goes while this try is in flight: a message on screen is this try's
  error.textContent = "";
  input.removeAttribute("aria-invalid");
  input.disabled = true;
  try {
    const res = await api(`/v1/assets/${encodeURIComponent(asset.id)}`, { method: "PATCH", json: { name } });
    const fresh = await res.json();
    if (!active || active.input !== input) return;
    endRename(displayName(fresh));
    announce(`Renamed to ${displayName(fresh)}.`);
    onSaved(fresh);
    $("#preview-rename").focus();
  } catch (err) {
    if (!active || active.input !== input) return;
    input.disabled = false;
    if (err.code === 401) return;
    error.textContent = err.message;
    input.setAttribute("aria-invalid", "true");
    input.focus();
  }
}

/* Tags: chips that filter the list, the bar of active tag filters, and the editor in the preview. */

import { normTag, state, writeRoute } from "./state.js";
import { api } from "./api.js";
import { $, ICONS, announce, el, svgIcon } from "./dom.js";
import { displayName } from "./format.js";

export const MAX_TAGS = 32;
const MAX_TAG_CHARS = 64;
const CARD_CHIPS = 3;

export function filterByTag(tag) {
  const t = normTag(tag);
  if (!t || state.tags.includes(t)) return;
  writeRoute({ tags: [...state.tags, t], page: 1 });
}

function unfilterTag(tag) {
  writeRoute({ tags: state.tags.filter((t) => t !== tag), page: 1 });
}

/* A few chips under a card or in a music row; each adds its tag to the filters. */
export function tagChips(a) {
  const tags = a.tags || [];
  if (!tags.length) return null;
  const shown = tags.slice(0, CARD_CHIPS).map((t) =>
    el("button", {
      class: `chip${state.tags.includes(t) ? " chip-on" : ""}`,
      type: "button",
      "aria-label": `Filter by tag ${t}`,
      "aria-pressed": String(state.tags.includes(t)),
      text: t,
      onclick: () => filterByTag(t),
    }),
  );
  const more = tags.length > CARD_CHIPS ? el("span", { class: "chip-more", text: `+${tags.length - CARD_CHIPS}`, title: tags.slice(CARD_CHIPS).join(", ") }) : null;
  return el("div", { class: "card-tags" }, ...shown, more);
}

/* The active tag filters above the grid, each with a way out. */
export function renderTagFilters() {
  const bar = $("#tag-filters");
  const on = state.view !== "trash" && state.tags.length > 0;
  bar.hidden = !on;
  if (!on) {
    bar.replaceChildren();
    return;
  }
  bar.replaceChildren(
    el("span", { class: "muted", text: state.tags.length === 1 ? "Tag:" : "Tags (all of):" }),
    ...state.tags.map((t) =>
      el("button", { class: "chip chip-on chip-remove", type: "button", "aria-label": `Remove tag filter ${t}`, onclick: () => unfilterTag(t) }, t, svgIcon(ICONS.close, "icon icon-xs")),
    ),
    ...(state.tags.length > 1 ? [el("button", { class: "btn btn-ghost btn-sm", type: "button", text: "Clear tags", onclick: () => writeRoute({ tags: [], page: 1 }) })] : []),
  );
}

/* Tags seen on this page, offered as suggestions wherever a tag is typed. */
export function rememberTags() {
  const known = [...new Set(state.items.flatMap((a) => a.tags || []))].sort();
  $("#known-tags").replaceChildren(...known.map((t) => el("option", { value: t })));
}

/* The Music tab offers the moods and genres of the tracks it shows, as one-click filters. */
export function renderTagSuggestions() {
  const bar = $("#tag-suggest");
  const counts = new Map();
  if (state.view === "music") {
    for (const a of state.items) for (const t of a.tags || []) if (!state.tags.includes(t)) counts.set(t, (counts.get(t) || 0) + 1);
  }
  bar.hidden = counts.size === 0;
  const top = [...counts].sort((x, y) => y[1] - x[1] || x[0].localeCompare(y[0])).slice(0, 40);
  bar.replaceChildren(
    ...(top.length ? [el("span", { class: "muted", text: "Moods and genres:" })] : []),
    ...top.map(([t]) => el("button", { class: "chip", type: "button", "aria-label": `Filter by tag ${t}`, text: t, onclick: () => filterByTag(t) })),
  );
}

/* Splits "a, b ,c" into clean tags; a message for the first one that can't be a tag. */
export function parseTags(text) {
  const tags = [...new Set(String(text).split(",").map(normTag).filter(Boolean))];
  const long = tags.find((t) => [...t].length > MAX_TAG_CHARS);
  if (long) return { tags, error: `A tag can be at most ${MAX_TAG_CHARS} characters.` };
  return { tags, error: "" };
}

/* ---------- the editor in the preview: chips with a remove button, an input to add ---------- */

let editing = null; // { asset, onSaved }

export function fillTagEditor(asset, onSaved) {
  editing = { asset, onSaved };
  const box = $("#preview-tags");
  const tags = asset.tags || [];
  const readOnly = Boolean(asset.isSystem);
  box.hidden = readOnly && !tags.length;
  $("#tag-input").hidden = readOnly;
  if (document.activeElement !== $("#tag-input")) $("#tags-error").textContent = "";
  box.querySelector(".tag-list").replaceChildren(
    ...tags.map((t) =>
      el(
        "li",
        { class: "chip chip-edit" },
        el("button", { class: "chip-label", type: "button", text: t, "aria-label": `Show assets tagged ${t}`, onclick: () => showTag(t) }),
        readOnly ? null : el("button", { class: "chip-x", type: "button", "aria-label": `Remove tag ${t}`, onclick: () => saveTags(tags.filter((x) => x !== t), `Removed tag ${t}.`) }, svgIcon(ICONS.close, "icon icon-xs")),
      ),
    ),
  );
}

function showTag(tag) {
  $("#preview").close();
  const next = state.view === "music" ? "music" : "library";
  writeRoute({ view: next, tags: [normTag(tag)], q: "", page: 1 });
}

async function saveTags(tags, message) {
  if (!editing) return;
  const { asset, onSaved } = editing;
  if (tags.length > MAX_TAGS) {
    $("#tags-error").textContent = `An asset can have at most ${MAX_TAGS} tags.`;
    return false;
  }
  // the last refusal goes while this try is in flight: a message on screen is this try's
  $("#tags-error").textContent = "";
  try {
    const res = await api(`/v1/assets/${encodeURIComponent(asset.id)}`, { method: "PATCH", json: { tags } });
    const fresh = await res.json();
    announce(message);
    onSaved(fresh);
    // A removed chip took the focus with it: keep the keyboard in the editor.
    if (!$("#preview").contains(document.activeElement)) $("#tag-input").focus();
    return true;
  } catch (err) {
    if (err.code !== 401) $("#tags-error").textContent = err.message;
    return false;
  }
}

export function wireTagEditor() {
  const input = $("#tag-input");
  input.addEventListener("keydown", async (e) => {
    if (!editing) return;
    const current = editing.asset.tags || [];
    if (e.key === "Enter" || e.key === ",") {
      e.preventDefault();
      const { tags, error } = parseTags(input.value);
      if (error) {
        $("#tags-error").textContent = error;
        return;
      }
      const added = tags.filter((t) => !current.includes(t));
      if (!added.length) {
        input.value = "";
        return;
      }
      if (await saveTags([...current, ...added], `Added tag ${added.join(", ")} to ${displayName(editing.asset)}.`)) input.value = "";
    } else if (e.key === "Backspace" && !input.value && current.length) {
      e.preventDefault();
      const last = current[current.length - 1];
      saveTags(current.slice(0, -1), `Removed tag ${last}.`);
    }
  });
}

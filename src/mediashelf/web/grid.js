/* The library grid: loading a page, rendering cards and the pager, live changes from the event
   stream (live.js), and polling while processing only when the stream is down. */

import { state, writeRoute } from "./state.js";
import { api, listPath } from "./api.js";
import { $, ICONS, announce, el, svgIcon } from "./dom.js";
import {
  STATUS_LABEL,
  TYPE_LABEL,
  displayName,
  formatDuration,
  formatRelative,
  metaLine,
  sentence,
} from "./format.js";
import { placeholderStyle } from "./blurhash.js";
import { rowFor } from "./music.js";
import { openPreview } from "./preview.js";
import { confirmDelete } from "./dialogs.js";
import { checkUploads, uploads } from "./upload.js";
import { rememberTags, renderTagFilters, renderTagSuggestions, tagChips } from "./tags.js";
import { selectBox, syncSelection } from "./select.js";
import { trashRow } from "./trash.js";
import { live } from "./live.js";

const POLL_MS = 1500; // first delay; it grows while nothing changes, up to POLL_MAX_MS
const POLL_MAX_MS = 10000;

/* ---------- loading the list ---------- */

let loadSeq = 0;

export async function load({ quiet = false } = {}) {
  if (!state.key) return;
  const seq = ++loadSeq;
  const grid = $("#grid");
  if (!quiet) {
    state.error = null;
    showSkeletons();
  }
  try {
    const res = await api(listPath());
    const items = await res.json();
    if (seq !== loadSeq) return;
    const num = (h, d) => {
      const v = parseInt(res.headers.get(h), 10);
      return Number.isNaN(v) ? d : v;
    };
    state.total = num("X-Total-Count", items.length);
    state.totalPages = num("X-Total-Pages", items.length ? 1 : 0);
    state.pageSize = num("X-Page-Size", state.pageSize);
    if (!items.length && state.page > 1 && state.totalPages > 0 && state.page > state.totalPages) {
      writeRoute({ page: state.totalPages }, { replace: true });
      return;
    }
    if (announceTransitions(state.items, items) || !quiet) pollDelay = POLL_MS;
    state.items = items;
    state.loaded = true;
    state.error = null;
    render();
  } catch (err) {
    if (seq !== loadSeq || err.code === 401) return;
    if (quiet && state.loaded && err.code !== 400) {
      // keep what is on screen; the next poll tries again (a refused search is shown at once)
    } else {
      state.error = err.message;
      state.items = [];
      render();
    }
  } finally {
    if (seq === loadSeq) grid.setAttribute("aria-busy", "false");
    schedulePoll();
  }
}

/* Announces finished processing; true when any status changed. */
function announceTransitions(before, after) {
  const old = new Map(before.map((a) => [a.id, a.status]));
  let changed = before.length !== after.length;
  for (const a of after) {
    const was = old.get(a.id);
    if (was !== a.status) changed = true;
    if (was === "PROCESSING" && a.status === "READY") announce(`${displayName(a)} is ready.`);
    if (was === "PROCESSING" && a.status === "FAILED") {
      announce(`${displayName(a)} failed: ${a.failureReason || "processing error"}.`);
    }
  }
  return changed;
}

function showSkeletons() {
  const grid = $("#grid");
  grid.setAttribute("aria-busy", "true");
  $("#state").hidden = true;
  $("#pager").hidden = true;
  $("#bulk").hidden = true;
  if (state.view !== "music") $("#tag-suggest").hidden = true;
  renderTagFilters();
  $("#count").textContent = "Loading…";
  const n = Math.min(state.pageSize, state.view === "music" ? 8 : 12);
  grid.replaceChildren(
    ...Array.from({ length: n }, () =>
      el(
        "li",
        { class: "card skeleton", "aria-hidden": "true" },
        el("span", { class: "thumb" }),
        el("span", { class: "card-body" }, el("span", { class: "sk-line" }), el("span", { class: "sk-line short" })),
      ),
    ),
  );
}

/* ---------- rendering ---------- */

function render() {
  const grid = $("#grid");
  const stateBox = $("#state");
  const focusedId = document.activeElement?.closest?.("[data-id]")?.dataset.id;
  renderTagFilters();

  if (state.error) {
    grid.replaceChildren();
    $("#count").textContent = "";
    $("#pager").hidden = true;
    stateBox.hidden = false;
    stateBox.className = "state state-error";
    stateBox.replaceChildren(
      svgIcon(ICONS.warn, "icon icon-xl"),
      el("h2", { text: state.view === "music" ? "Couldn't load the music library" : "Couldn't load your library" }),
      el("p", { class: "muted", text: state.error }),
      // A refused search or tag (edited into the address, say) has a way out besides retrying.
      state.q || state.tags.length
        ? el("button", { class: "btn", type: "button", onclick: () => writeRoute({ q: "", tags: [], page: 1 }) }, "Clear search")
        : el("button", { class: "btn", type: "button", onclick: () => load() }, svgIcon(ICONS.retry), "Try again"),
    );
    syncSelection();
    return;
  }

  const searching = Boolean(state.q.trim() || state.tags.length);
  const filtered = Boolean(state.type || state.status || searching);
  $("#count").textContent = countText();
  if (!state.items.length) {
    grid.replaceChildren();
    stateBox.hidden = false;
    stateBox.className = "state state-empty";
    if (state.view === "trash") {
      stateBox.replaceChildren(
        svgIcon(ICONS.trash, "icon icon-xl"),
        el("h2", { text: "The trash is empty" }),
        el("p", { class: "muted", text: "Deleted assets wait here until they are purged; restore them before then." }),
      );
    } else if (searching) {
      const what = state.q.trim() ? `“${state.q.trim()}”` : "these tags";
      stateBox.replaceChildren(
        svgIcon(ICONS.empty, "icon icon-xl"),
        el("h2", { text: `Nothing matches ${what}` }),
        el("p", { class: "muted", text: "Search finds the beginnings of words in names and tags. Try fewer or shorter words." }),
        el("button", { class: "btn", type: "button", onclick: () => writeRoute({ q: "", tags: [], page: 1 }) }, "Clear search"),
      );
    } else if (state.view === "music") {
      stateBox.replaceChildren(
        svgIcon(ICONS.audio, "icon icon-xl"),
        el("h2", { text: "No music yet" }),
        el("p", { class: "muted", text: "The system music library is empty. An admin can add tracks with mediashelf system import." }),
      );
    } else if (filtered || state.page > 1) {
      stateBox.replaceChildren(
        svgIcon(ICONS.empty, "icon icon-xl"),
        el("h2", { text: "Nothing matches these filters" }),
        el("p", { class: "muted", text: "Try another type or status." }),
        el("button", { class: "btn", type: "button", onclick: () => writeRoute({ type: "", status: "", page: 1 }) }, "Clear filters"),
      );
    } else {
      stateBox.replaceChildren(
        svgIcon(ICONS.empty, "icon icon-xl"),
        el("h2", { text: "Your library is empty" }),
        el("p", { class: "muted", text: "Drop images, videos or audio anywhere on this page, or choose files to upload." }),
        el("button", { class: "btn btn-primary", type: "button", onclick: () => $("#file-input").click() }, "Choose files"),
      );
    }
  } else {
    stateBox.hidden = true;
    const previous = new Map([...grid.children].filter((n) => n.dataset.id).map((n) => [n.dataset.id, n]));
    const build = { music: rowFor, trash: trashRow }[state.view] || cardFor;
    const nodes = state.items.map((a) => {
      const old = previous.get(a.id);
      const sig = signature(a);
      if (old && old.dataset.sig === sig) return old;
      const node = build(a);
      node.dataset.sig = sig;
      if (old && old.dataset.status === "PROCESSING" && a.status !== "PROCESSING") node.classList.add("flash");
      return node;
    });
    grid.replaceChildren(...nodes);
    if (focusedId) {
      const target = grid.querySelector(`[data-id="${CSS.escape(focusedId)}"] :is(.card-hit, .row-restore)`);
      if (target) target.focus({ preventScroll: true });
    }
  }
  syncSelection();
  renderTagSuggestions();
  rememberTags();
  renderPager();
}

function signature(a) {
  const tags = (a.tags || []).map((t) => `${t}${state.tags.includes(t) ? "*" : ""}`).join(",");
  return [state.view, a.status, a.name, a.thumbnailUrl ? 1 : 0, a.sizeBytes, a.durationMs, a.width, tags, a.deletedAt].join("|");
}

function countText() {
  const noun = state.view === "music" ? (state.total === 1 ? "track" : "tracks") : state.total === 1 ? "asset" : "assets";
  const where = state.view === "trash" ? " in the trash" : "";
  if (!state.total) return `0 ${noun}${where}`;
  const first = (state.page - 1) * state.pageSize + 1;
  const last = Math.min(state.total, first + state.items.length - 1);
  if (state.totalPages <= 1) return `${state.total} ${noun}${where}`;
  return `${first}–${last} of ${state.total} ${noun}${where}`;
}

function cardFor(a) {
  const name = displayName(a);
  const typeIcon = { IMAGE: ICONS.image, VIDEO: ICONS.video, AUDIO: ICONS.audio }[a.type] || ICONS.image;
  const thumb = el("span", { class: `thumb thumb-${a.type.toLowerCase()}`, style: placeholderStyle(a) });
  if (a.type === "AUDIO" && a.thumbnailUrl && a.status === "READY") {
    thumb.append(el("img", { class: "wave-img", src: a.thumbnailUrl, alt: "", loading: "lazy", draggable: "false" }));
  } else if (a.thumbnailUrl && a.status === "READY") {
    const img = el("img", { src: a.thumbnailUrl, alt: "", loading: "lazy", decoding: "async", draggable: "false" });
    img.addEventListener("load", () => thumb.classList.add("loaded"));
    img.addEventListener("error", () => img.remove());
    thumb.append(img);
  } else if (a.status === "READY") {
    thumb.append(svgIcon(typeIcon, "icon icon-xl thumb-icon"));
  }
  if (a.status === "PROCESSING") {
    thumb.append(el("span", { class: "thumb-overlay" }, el("span", { class: "spinner", "aria-hidden": "true" })));
  } else if (a.status === "FAILED") {
    thumb.append(el("span", { class: "thumb-overlay thumb-failed" }, svgIcon(ICONS.warn, "icon icon-lg")));
  }
  const corner = el("span", { class: "badge badge-type" }, svgIcon(typeIcon, "icon icon-xs"), TYPE_LABEL[a.type] || a.type);
  thumb.append(corner);
  if ((a.type === "VIDEO" || a.type === "AUDIO") && a.durationMs) {
    thumb.append(el("span", { class: "badge badge-duration", text: formatDuration(a.durationMs) }));
  }

  const statusBadge = el("span", { class: `badge status status-${a.status.toLowerCase()}`, text: STATUS_LABEL[a.status] || a.status });
  const meta = a.status === "FAILED" ? sentence(a.failureReason) || "Processing failed" : metaLine(a) || formatRelative(a.createdAt);
  const label = `${name}. ${TYPE_LABEL[a.type] || a.type}, ${STATUS_LABEL[a.status] || a.status}${meta ? `, ${meta}` : ""}${a.isSystem ? ", system library" : ""}.`;

  const hit = el(
    "button",
    { class: "card-hit", type: "button", "aria-label": label, onclick: () => openPreview(a) },
    thumb,
    el(
      "span",
      { class: "card-body" },
      el("span", { class: "card-name", title: name, text: name }),
      el("span", { class: "card-foot" }, el("span", { class: "card-meta", text: meta, title: meta }), statusBadge),
    ),
  );
  const li = el("li", { class: `card${a.isSystem ? " is-system" : ""}`, "data-id": a.id, "data-status": a.status, "data-type": a.type }, hit, tagChips(a), selectBox(a));
  if (!a.isSystem) {
    li.append(
      el(
        "button",
        { class: "card-delete btn-icon", type: "button", "aria-label": `Delete ${name}`, title: "Delete", onclick: () => confirmDelete(a) },
        svgIcon(ICONS.trash),
      ),
    );
  }
  return li;
}


function renderPager() {
  const pager = $("#pager");
  const pages = state.totalPages;
  if (pages <= 1 && state.page <= 1) {
    pager.hidden = true;
    pager.replaceChildren();
    return;
  }
  pager.hidden = false;
  const go = (p) => () => {
    writeRoute({ page: p });
    $("#main").focus({ preventScroll: true });
    window.scrollTo({ top: 0, behavior: "smooth" });
  };
  const btn = (label, page, attrs = {}) =>
    el("button", { class: "btn btn-page", type: "button", onclick: go(page), ...attrs }, label);
  const items = [btn("‹ Prev", state.page - 1, { disabled: state.page <= 1, "aria-label": "Previous page", "data-nav": "prev" })];
  const shown = new Set([1, pages, state.page - 1, state.page, state.page + 1].filter((p) => p >= 1 && p <= pages));
  let last = 0;
  for (const p of [...shown].sort((x, y) => x - y)) {
    if (p - last > 1) items.push(el("span", { class: "pager-gap", "aria-hidden": "true", text: "…" }));
    items.push(
      btn(String(p), p, {
        "aria-label": `Page ${p}`,
        "aria-current": p === state.page ? "page" : null,
        class: `btn btn-page${p === state.page ? " current" : ""}`,
      }),
    );
    last = p;
  }
  items.push(btn("Next ›", state.page + 1, { disabled: state.page >= pages, "aria-label": "Next page", "data-nav": "next" }));
  pager.replaceChildren(...items);
}

/* ---------- live: an asset on screen that finished, from the event stream ---------- */

/* Shows the asset's new state in place; false when it is not on screen as it stands (the
   caller then reloads the listing). */
export function applyEvent(asset) {
  const at = state.items.findIndex((a) => a.id === asset.id);
  if (at < 0 || state.view === "trash" || (state.status && state.status !== asset.status)) return false;
  const items = state.items.slice();
  items[at] = asset;
  announceTransitions(state.items, items);
  state.items = items;
  render();
  return true;
}

/* ---------- polling: refresh while something is processing (the stream is down) ---------- */

let pollTimer = null;
let pollDelay = POLL_MS;

function needsPolling() {
  if (live.connected) return false;
  return state.items.some((a) => a.status === "PROCESSING") || [...uploads.values()].some((u) => u.state === "processing");
}

export function schedulePoll() {
  clearTimeout(pollTimer);
  pollTimer = null;
  if (!state.key || !needsPolling()) return;
  pollTimer = setTimeout(poll, pollDelay);
  pollDelay = Math.min(POLL_MAX_MS, Math.round(pollDelay * 1.25));
}

/* A finished upload is news: look again soon. */
export function resetPollDelay() {
  pollDelay = POLL_MS;
}

export function stopPolling() {
  clearTimeout(pollTimer);
  pollTimer = null;
}

async function poll() {
  pollTimer = null;
  if (document.hidden) {
    pollTimer = setTimeout(poll, POLL_MS * 2);
    return;
  }
  await checkUploads();
  await load({ quiet: true });
}

document.addEventListener("visibilitychange", () => {
  if (!document.hidden && state.key && needsPolling() && !pollTimer) poll();
});

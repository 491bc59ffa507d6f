/* mediashelf web page: plain JS modules, no build step. Talks to /v1 on the same origin.
   This entry wires the page's controls and opens the library, or the key screen. */

import { PAGE_SIZE_STORE, readRoute, state, writeRoute } from "./state.js";
import { onLoginSubmit, readStoredKey, showLogin, signOut, startApp } from "./api.js";
import { $ } from "./dom.js";
import { load } from "./grid.js";
import { addFiles, clearFinishedUploads } from "./upload.js";
import { openPreview, wirePreview } from "./preview.js";
import { confirmDelete } from "./dialogs.js";
import { bulkDelete, clearSelection, toggle, wireSelection } from "./select.js";

const SEARCH_DEBOUNCE_MS = 250;

/* ---------- keyboard on the grid ---------- */

function onGridKey(e) {
  const hit = e.target.closest(".card-hit, .row-play, .card-delete, .card-select, .row-restore");
  if (!hit) return;
  const li = hit.closest("[data-id]");
  const a = state.items.find((x) => x.id === li.dataset.id);
  if (!a) return;
  const trash = state.view === "trash";
  if ((e.key === "Delete" || e.key === "Backspace") && !e.repeat && !trash) {
    e.preventDefault();
    // On a selected card, Delete means the whole selection.
    if (state.selected.has(a.id)) bulkDelete();
    else confirmDelete(a);
    return;
  }
  if ((e.key === "x" || e.key === "X") && !a.isSystem && state.view === "library" && !e.ctrlKey && !e.metaKey && !e.altKey) {
    e.preventDefault();
    toggle(a.id, e.shiftKey);
    return;
  }
  if (e.key === "F2" && !a.isSystem && !trash) {
    e.preventDefault();
    openPreview(a, { rename: true });
    return;
  }
  const target = trash ? ".row-restore" : ".card-hit";
  const cards = [...$("#grid").querySelectorAll(target)];
  const i = cards.indexOf(li.querySelector(target));
  const cols = state.view === "music" ? 1 : getComputedStyle($("#grid")).gridTemplateColumns.split(" ").length;
  const move = { ArrowRight: 1, ArrowLeft: -1, ArrowDown: cols, ArrowUp: -cols, Home: -Infinity, End: Infinity }[e.key];
  if (move === undefined) return;
  e.preventDefault();
  const j = Math.max(0, Math.min(cards.length - 1, i + move));
  cards[j].focus();
}

/* ---------- search: debounced, kept in the address ---------- */

function wireSearch() {
  const input = $("#search");
  let timer = null;
  const commit = () => {
    clearTimeout(timer);
    const q = input.value.trim();
    if (q !== state.q.trim()) writeRoute({ q, page: 1 }, { replace: true, quiet: state.loaded });
  };
  input.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(commit, SEARCH_DEBOUNCE_MS);
  });
  input.addEventListener("keydown", (e) => {
    if (e.key === "Enter") commit();
    else if (e.key === "Escape" && input.value) {
      e.preventDefault();
      input.value = "";
      commit();
    }
  });
}

/* ---------- wiring ---------- */

function wire() {
  $("#login-form").addEventListener("submit", onLoginSubmit);
  $("#logout").addEventListener("click", () => signOut(""));
  $("#upload-button").addEventListener("click", () => $("#file-input").click());
  $("#file-input").addEventListener("change", (e) => {
    addFiles(e.target.files);
    e.target.value = "";
  });
  $("#uploads-clear").addEventListener("click", clearFinishedUploads);
  $("#type-filter").addEventListener("change", (e) => writeRoute({ type: e.target.value, page: 1 }));
  $("#status-filter").addEventListener("change", (e) => writeRoute({ status: e.target.value, page: 1 }));
  $("#page-size").addEventListener("change", (e) => {
    const size = parseInt(e.target.value, 10);
    localStorage.setItem(PAGE_SIZE_STORE, String(size));
    writeRoute({ pageSize: size, page: 1 });
  });
  $("#sort-filter").addEventListener("change", (e) => writeRoute({ sort: e.target.value, page: 1 }));
  wireSearch();
  wireSelection();
  $("#grid").addEventListener("keydown", onGridKey);
  // Ctrl/Cmd-click or shift-click on a card picks it instead of opening it.
  $("#grid").addEventListener("click", (e) => {
    const hit = e.target.closest(".card-hit");
    if (!hit || state.view !== "library" || !(e.shiftKey || e.ctrlKey || e.metaKey)) return;
    const a = state.items.find((x) => x.id === hit.closest("[data-id]").dataset.id);
    if (!a || a.isSystem) return;
    e.preventDefault();
    e.stopPropagation();
    toggle(a.id, e.shiftKey);
  }, true);
  document.addEventListener("keydown", (e) => {
    if (e.key === "Escape" && state.selected.size && !document.querySelector("dialog[open]")) clearSelection();
    // "/" jumps to the search box, as on most sites with one.
    if (e.key === "/" && !e.target.closest("input, select, textarea, dialog") && !$("#search-box").hidden && state.key) {
      e.preventDefault();
      $("#search").focus();
    }
  });
  window.addEventListener("hashchange", () => {
    if (!state.key) return;
    readRoute();
    load();
  });

  wirePreview();
  $("#confirm").addEventListener("click", (e) => {
    if (e.target === $("#confirm")) $("#confirm").close("cancel");
  });
}

wire();
const storedKey = readStoredKey();
if (storedKey) startApp(storedKey);
else showLogin("");

/* mediashelf web page: plain JS modules, no build step. Talks to /v1 on the same origin.
   This entry wires the page's controls and opens the library, or the key screen. */

import { PAGE_SIZE_STORE, readRoute, state, writeRoute } from "./state.js";
import { onLoginSubmit, readStoredKey, showLogin, signOut, startApp } from "./api.js";
import { $ } from "./dom.js";
import { load } from "./grid.js";
import { addFiles, clearFinishedUploads } from "./upload.js";
import { wirePreview } from "./preview.js";
import { confirmDelete } from "./dialogs.js";

/* ---------- keyboard on the grid ---------- */

function onGridKey(e) {
  const hit = e.target.closest(".card-hit, .row-play, .card-delete");
  if (!hit) return;
  const li = hit.closest("[data-id]");
  const a = state.items.find((x) => x.id === li.dataset.id);
  if (!a) return;
  if ((e.key === "Delete" || e.key === "Backspace") && !e.repeat) {
    e.preventDefault();
    confirmDelete(a);
    return;
  }
  const cards = [...$("#grid").querySelectorAll(".card-hit")];
  const i = cards.indexOf(li.querySelector(".card-hit"));
  const cols = state.view === "music" ? 1 : getComputedStyle($("#grid")).gridTemplateColumns.split(" ").length;
  const move = { ArrowRight: 1, ArrowLeft: -1, ArrowDown: cols, ArrowUp: -cols, Home: -Infinity, End: Infinity }[e.key];
  if (move === undefined) return;
  e.preventDefault();
  const j = Math.max(0, Math.min(cards.length - 1, i + move));
  cards[j].focus();
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
  $("#grid").addEventListener("keydown", onGridKey);
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

/* What the page shows, and its address: #/library?type=IMAGE&status=READY&page=2&pageSize=24 */

import { $, el } from "./dom.js";
import { load } from "./grid.js";

export const KEY_STORE = "mediashelf.apiKey";
export const PAGE_SIZE_STORE = "mediashelf.pageSize";
export const STATUSES = ["PROCESSING", "READY", "FAILED"];

export const state = {
  key: null,
  view: "library",
  type: "",
  status: "",
  page: 1,
  pageSize: 24,
  items: [],
  total: 0,
  totalPages: 0,
  loaded: false,
  error: null,
};

export function readRoute() {
  const hash = location.hash.replace(/^#\/?/, "");
  const [path, query = ""] = hash.split("?");
  const q = new URLSearchParams(query);
  state.view = path === "music" ? "music" : "library";
  state.type = ["IMAGE", "VIDEO", "AUDIO"].includes(q.get("type")) ? q.get("type") : "";
  state.status = STATUSES.includes(q.get("status")) ? q.get("status") : "";
  state.page = Math.max(1, parseInt(q.get("page"), 10) || 1);
  const stored = parseInt(localStorage.getItem(PAGE_SIZE_STORE), 10);
  const size = parseInt(q.get("pageSize"), 10) || stored || 24;
  state.pageSize = Math.min(100, Math.max(1, size));
  syncControls();
}

export function writeRoute(changes, { replace = false } = {}) {
  const next = { ...state, ...changes };
  const q = new URLSearchParams();
  if (next.view === "library" && next.type) q.set("type", next.type);
  if (next.status) q.set("status", next.status);
  if (next.page > 1) q.set("page", String(next.page));
  if (next.pageSize !== 24) q.set("pageSize", String(next.pageSize));
  const qs = q.toString();
  const hash = `#/${next.view}${qs ? `?${qs}` : ""}`;
  if (hash === location.hash) {
    readRoute();
    load();
  } else if (replace) {
    history.replaceState(null, "", hash);
    readRoute();
    load();
  } else {
    location.hash = hash; // hashchange → readRoute + load
  }
}

function syncControls() {
  const music = state.view === "music";
  for (const tab of ["library", "music"]) {
    const t = $(`#tab-${tab}`);
    const on = state.view === tab;
    t.setAttribute("aria-selected", String(on));
    if (on) t.setAttribute("aria-current", "page");
    else t.removeAttribute("aria-current");
  }
  $("#view-title").textContent = music ? "Music" : "Library";
  document.title = `${music ? "Music" : "Library"} · mediashelf`;
  $("#type-filter").hidden = music;
  $("#status-filter").parentElement.hidden = music;
  const radio = document.querySelector(`#type-filter input[value="${state.type}"]`);
  if (radio) radio.checked = true;
  $("#status-filter").value = state.status;
  const size = $("#page-size");
  if (![...size.options].some((o) => o.value === String(state.pageSize))) {
    size.append(el("option", { value: state.pageSize, text: `${state.pageSize} per page` }));
  }
  size.value = String(state.pageSize);
  $("#grid").classList.toggle("list", music);
}

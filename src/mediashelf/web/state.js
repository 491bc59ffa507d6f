/* What the page shows, and its address:
   #/library?q=beach&tag=sea&tag=sky&sort=name&type=IMAGE&status=READY&page=2&pageSize=24 */

import { $, el } from "./dom.js";
import { load } from "./grid.js";

export const KEY_STORE = "mediashelf.apiKey";
export const PAGE_SIZE_STORE = "mediashelf.pageSize";
export const STATUSES = ["PROCESSING", "READY", "FAILED"];
export const SORTS = ["-createdAt", "createdAt", "name", "-name", "-sizeBytes", "-durationMs"];
export const VIEWS = ["library", "music", "trash"];
const TITLES = { library: "Library", music: "Music", trash: "Trash" };

export const state = {
  key: null,
  view: "library",
  type: "",
  status: "",
  q: "",
  tags: [],
  sort: "-createdAt",
  page: 1,
  pageSize: 24,
  items: [],
  total: 0,
  totalPages: 0,
  loaded: false,
  error: null,
  selected: new Set(), // ids picked on the current page, for the bulk actions
};

/* Tags as the server keeps them: trimmed and lower-cased. */
export function normTag(text) {
  return String(text || "").trim().toLowerCase();
}

export function readRoute() {
  const hash = location.hash.replace(/^#\/?/, "");
  const [path, query = ""] = hash.split("?");
  const q = new URLSearchParams(query);
  const view = VIEWS.includes(path) ? path : "library";
  if (view !== state.view) state.selected.clear();
  state.view = view;
  state.type = ["IMAGE", "VIDEO", "AUDIO"].includes(q.get("type")) ? q.get("type") : "";
  state.status = STATUSES.includes(q.get("status")) ? q.get("status") : "";
  state.q = (q.get("q") || "").slice(0, 200);
  state.tags = [...new Set(q.getAll("tag").map(normTag).filter(Boolean))].slice(0, 32);
  state.sort = SORTS.includes(q.get("sort")) ? q.get("sort") : "-createdAt";
  state.page = Math.max(1, parseInt(q.get("page"), 10) || 1);
  const stored = parseInt(localStorage.getItem(PAGE_SIZE_STORE), 10);
  const size = parseInt(q.get("pageSize"), 10) || stored || 24;
  state.pageSize = Math.min(100, Math.max(1, size));
  syncControls();
}

function routeFor(next) {
  const q = new URLSearchParams();
  const trash = next.view === "trash";
  if (!trash && next.q) q.set("q", next.q);
  if (!trash) for (const t of next.tags) q.append("tag", t);
  if (next.view === "library" && next.type) q.set("type", next.type);
  if (!trash && next.status) q.set("status", next.status);
  if (!trash && next.sort !== "-createdAt") q.set("sort", next.sort);
  if (next.page > 1) q.set("page", String(next.page));
  if (next.pageSize !== 24) q.set("pageSize", String(next.pageSize));
  const qs = q.toString();
  return `#/${next.view}${qs ? `?${qs}` : ""}`;
}

/* `quiet` keeps the grid on screen while the next page loads (the search, as one types). */
export function writeRoute(changes, { replace = false, quiet = false } = {}) {
  const hash = routeFor({ ...state, ...changes });
  if (hash === location.hash) {
    readRoute();
    load({ quiet });
  } else if (replace) {
    history.replaceState(null, "", hash);
    readRoute();
    load({ quiet });
  } else {
    location.hash = hash; // hashchange → readRoute + load
  }
}

function syncControls() {
  const view = state.view;
  for (const tab of VIEWS) {
    const t = $(`#tab-${tab}`);
    const on = view === tab;
    t.setAttribute("aria-selected", String(on));
    if (on) t.setAttribute("aria-current", "page");
    else t.removeAttribute("aria-current");
  }
  $("#view-title").textContent = TITLES[view];
  document.title = `${TITLES[view]} · mediashelf`;
  $("#type-filter").hidden = view !== "library";
  $("#status-filter").parentElement.hidden = view !== "library";
  $("#search-box").hidden = view === "trash";
  $("#sort-filter").parentElement.hidden = view === "trash";
  const radio = document.querySelector(`#type-filter input[value="${state.type}"]`);
  if (radio) radio.checked = true;
  $("#status-filter").value = state.status;
  $("#sort-filter").value = state.sort;
  const search = $("#search");
  search.placeholder = view === "music" ? "Search by mood, genre, name…" : "Search names and tags…";
  // Only when it differs: rewriting the value while someone types would move the caret.
  if (search.value.trim() !== state.q.trim() && document.activeElement !== search) search.value = state.q;
  const size = $("#page-size");
  if (![...size.options].some((o) => o.value === String(state.pageSize))) {
    size.append(el("option", { value: state.pageSize, text: `${state.pageSize} per page` }));
  }
  size.value = String(state.pageSize);
  $("#grid").classList.toggle("list", view !== "library");
  $("#grid").classList.toggle("trash-list", view === "trash");
}

/* mediashelf web page: plain JS, no build step. Talks to /v1 on the same origin. */
"use strict";

const KEY_STORE = "mediashelf.apiKey";
const PAGE_SIZE_STORE = "mediashelf.pageSize";
const STATUSES = ["PROCESSING", "READY", "FAILED"];
const TYPE_LABEL = { IMAGE: "Image", VIDEO: "Video", AUDIO: "Audio" };
const STATUS_LABEL = { READY: "Ready", PROCESSING: "Processing", FAILED: "Failed" };
const POLL_MS = 1500; // first delay; it grows while nothing changes, up to POLL_MAX_MS
const POLL_MAX_MS = 10000;
const UPLOAD_CONCURRENCY = 2;
const WAVEFORM_MAX_BYTES = 40 * 1024 * 1024;

const $ = (sel, root = document) => root.querySelector(sel);

const state = {
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

class ApiError extends Error {
  constructor(code, message) {
    super(message);
    this.code = code;
  }
}

/* ---------- small helpers ---------- */

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else if (k === "style") node.style.cssText = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) if (c !== null && c !== undefined) node.append(c);
  return node;
}

function svgIcon(path, cls = "icon") {
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("class", cls);
  svg.setAttribute("aria-hidden", "true");
  const p = document.createElementNS(ns, "path");
  p.setAttribute("d", path);
  svg.append(p);
  return svg;
}

const ICONS = {
  image: "M4 5h16v14H4zM4 16l5-5 4 4 3-3 4 4M15 9.5a1.5 1.5 0 1 0 0-.01",
  video: "M4 6h11v12H4zM15 10l5-3v10l-5-3",
  audio: "M9 18V6l10-2v12M9 18a3 3 0 1 1-6 0 3 3 0 0 1 6 0zm10-2a3 3 0 1 1-6 0 3 3 0 0 1 6 0z",
  trash: "M4 7h16M10 11v6M14 11v6M6 7l1 13h10l1-13M9 7V4h6v3",
  play: "M8 5v14l11-7z",
  pause: "M7 5h4v14H7zM13 5h4v14h-4z",
  warn: "M12 3 2 20h20L12 3zm0 6v5m0 3v.01",
  close: "M6 6l12 12M18 6 6 18",
  empty: "M3 7h7l2 2h9v10H3zM3 7V5h6",
  retry: "M4 12a8 8 0 1 0 3-6.2M4 4v5h5",
  spinner: "M12 3a9 9 0 1 0 9 9",
};

/* Server messages are lower-case clauses ("file larger than 3 MB"): show them as sentences. */
function sentence(text) {
  const t = String(text || "").trim();
  return t ? t.charAt(0).toUpperCase() + t.slice(1) : t;
}

function displayName(a) {
  return a.name || "Untitled";
}

function formatBytes(n) {
  if (n === null || n === undefined) return "";
  const units = ["B", "KB", "MB", "GB", "TB"];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i += 1;
  }
  return `${v >= 10 || i === 0 ? Math.round(v) : v.toFixed(1)} ${units[i]}`;
}

function formatDuration(ms) {
  if (ms === null || ms === undefined) return "";
  const total = Math.round(ms / 1000);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = String(total % 60).padStart(2, "0");
  return h ? `${h}:${String(m).padStart(2, "0")}:${s}` : `${m}:${s}`;
}

function formatDims(a) {
  return a.width && a.height ? `${a.width}×${a.height}` : "";
}

const relFmt = new Intl.RelativeTimeFormat(undefined, { numeric: "auto" });
function formatRelative(iso) {
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return "";
  const diff = (t - Date.now()) / 1000;
  const steps = [
    [60, "second"],
    [60, "minute"],
    [24, "hour"],
    [7, "day"],
    [4.35, "week"],
    [12, "month"],
    [Infinity, "year"],
  ];
  let v = diff;
  for (const [n, unit] of steps) {
    if (Math.abs(v) < n) return relFmt.format(Math.round(v), unit);
    v /= n;
  }
  return "";
}

function formatDate(iso) {
  const t = Date.parse(iso);
  return Number.isNaN(t) ? "" : new Date(t).toLocaleString();
}

function metaLine(a) {
  const parts = [];
  if (a.type === "IMAGE") parts.push(formatDims(a));
  if (a.type === "VIDEO") parts.push(formatDims(a));
  if (a.type === "AUDIO") parts.push(formatDuration(a.durationMs));
  parts.push(formatBytes(a.sizeBytes));
  return parts.filter(Boolean).join(" · ");
}

function hueOf(text) {
  let h = 0;
  for (const ch of String(text)) h = (h * 31 + ch.charCodeAt(0)) >>> 0;
  return h % 360;
}

/* ---------- blurhash (https://blurha.sh), decoded to a tiny data URL ---------- */

const B83 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz#$%*+,-.:;=?@[]^_{|}~";
const blurCache = new Map();

function d83(s) {
  let v = 0;
  for (const c of s) v = v * 83 + B83.indexOf(c);
  return v;
}
const toLinear = (v) => {
  const x = v / 255;
  return x <= 0.04045 ? x / 12.92 : ((x + 0.055) / 1.055) ** 2.4;
};
const toSRGB = (v) => {
  const x = Math.max(0, Math.min(1, v));
  return Math.round((x <= 0.0031308 ? x * 12.92 : 1.055 * x ** (1 / 2.4) - 0.055) * 255);
};
const signPow = (v, e) => Math.sign(v) * Math.abs(v) ** e;

function blurhashToDataURL(hash) {
  if (!hash || hash.length < 6) return null;
  if (blurCache.has(hash)) return blurCache.get(hash);
  let url = null;
  try {
    const flag = d83(hash[0]);
    const ny = Math.floor(flag / 9) + 1;
    const nx = (flag % 9) + 1;
    if (hash.length !== 4 + 2 * nx * ny) throw new Error("bad blurhash");
    const maxV = (d83(hash[1]) + 1) / 166;
    const colors = [];
    const dc = d83(hash.slice(2, 6));
    colors.push([toLinear(dc >> 16), toLinear((dc >> 8) & 255), toLinear(dc & 255)]);
    for (let i = 1; i < nx * ny; i++) {
      const v = d83(hash.slice(4 + i * 2, 6 + i * 2));
      colors.push([
        signPow((Math.floor(v / 361) - 9) / 9, 2) * maxV,
        signPow(((Math.floor(v / 19) % 19) - 9) / 9, 2) * maxV,
        signPow(((v % 19) - 9) / 9, 2) * maxV,
      ]);
    }
    const w = 32;
    const h = 32;
    const canvas = document.createElement("canvas");
    canvas.width = w;
    canvas.height = h;
    const ctx = canvas.getContext("2d");
    const img = ctx.createImageData(w, h);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        let r = 0;
        let g = 0;
        let b = 0;
        for (let j = 0; j < ny; j++) {
          for (let i = 0; i < nx; i++) {
            const basis = Math.cos((Math.PI * x * i) / w) * Math.cos((Math.PI * y * j) / h);
            const c = colors[i + j * nx];
            r += c[0] * basis;
            g += c[1] * basis;
            b += c[2] * basis;
          }
        }
        const o = 4 * (x + y * w);
        img.data[o] = toSRGB(r);
        img.data[o + 1] = toSRGB(g);
        img.data[o + 2] = toSRGB(b);
        img.data[o + 3] = 255;
      }
    }
    ctx.putImageData(img, 0, 0);
    url = canvas.toDataURL();
  } catch {
    url = null;
  }
  blurCache.set(hash, url);
  return url;
}

function placeholderStyle(a) {
  const blur = blurhashToDataURL(a.blurhash);
  if (blur) return `background-image:url("${blur}")`;
  const hue = hueOf(a.id);
  return `--ph-hue:${hue}`;
}

/* ---------- API ---------- */

async function api(path, { method = "GET", body, key = state.key } = {}) {
  let res;
  try {
    res = await fetch(path, { method, body, headers: { "x-api-key": key || "" } });
  } catch {
    throw new ApiError(0, "Can't reach the server. Check that mediashelf is running and try again.");
  }
  if (!res.ok) {
    let message = `Request failed (HTTP ${res.status}).`;
    try {
      const data = await res.json();
      if (data && data.message) message = sentence(data.message);
    } catch {
      /* not JSON: keep the generic message */
    }
    if (res.status === 401 && key === state.key) {
      signOut("That API key was not accepted (it may have been revoked). Paste a valid key.");
    }
    throw new ApiError(res.status, message);
  }
  return res;
}

function listQuery() {
  const p = new URLSearchParams();
  if (state.view === "music") {
    p.append("type", "AUDIO");
    p.set("scope", "system");
  } else {
    if (state.type) p.append("type", state.type);
    p.set("scope", "mine");
  }
  for (const s of state.status ? [state.status] : STATUSES) p.append("status", s);
  p.set("page", String(state.page));
  p.set("pageSize", String(state.pageSize));
  return p.toString();
}

/* ---------- key screen ---------- */

function readStoredKey() {
  return localStorage.getItem(KEY_STORE) || sessionStorage.getItem(KEY_STORE);
}

function showLogin(message = "") {
  stopPolling();
  $("#app").hidden = true;
  $("#login").hidden = false;
  $("#login-error").textContent = message;
  const input = $("#login-key");
  input.setAttribute("aria-invalid", message ? "true" : "false");
  input.focus();
}

function signOut(message = "") {
  localStorage.removeItem(KEY_STORE);
  sessionStorage.removeItem(KEY_STORE);
  state.key = null;
  state.loaded = false;
  for (const d of document.querySelectorAll("dialog[open]")) d.close();
  showLogin(message);
}

async function onLoginSubmit(event) {
  event.preventDefault();
  const key = $("#login-key").value.trim();
  const button = $("#login-submit");
  if (!key) {
    showLogin("Paste an API key first.");
    return;
  }
  button.disabled = true;
  button.textContent = "Checking…";
  try {
    await api("/v1/assets?pageSize=1", { key });
    const store = $("#login-remember").checked ? localStorage : sessionStorage;
    store.setItem(KEY_STORE, key);
    $("#login-key").value = "";
    startApp(key);
  } catch (err) {
    showLogin(err.code === 401 ? "That API key was not accepted. Check it and try again." : err.message);
  } finally {
    button.disabled = false;
    button.textContent = "Open library";
  }
}

function startApp(key) {
  state.key = key;
  $("#login").hidden = true;
  $("#app").hidden = false;
  readRoute();
  load();
}

/* ---------- routing: #/library?type=IMAGE&status=READY&page=2&pageSize=24 ---------- */

function readRoute() {
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

function writeRoute(changes, { replace = false } = {}) {
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

/* ---------- loading the list ---------- */

let loadSeq = 0;

async function load({ quiet = false } = {}) {
  if (!state.key) return;
  const seq = ++loadSeq;
  const grid = $("#grid");
  if (!quiet) {
    state.error = null;
    showSkeletons();
  }
  try {
    const res = await api(`/v1/assets?${listQuery()}`);
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
    if (quiet && state.loaded) {
      // keep what is on screen; the next poll tries again
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
      el("button", { class: "btn", type: "button", onclick: () => load() }, svgIcon(ICONS.retry), "Try again"),
    );
    return;
  }

  const filtered = Boolean(state.type || state.status);
  $("#count").textContent = countText();
  if (!state.items.length) {
    grid.replaceChildren();
    stateBox.hidden = false;
    stateBox.className = "state state-empty";
    if (state.view === "music") {
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
    const build = state.view === "music" ? rowFor : cardFor;
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
      const target = grid.querySelector(`[data-id="${CSS.escape(focusedId)}"] .card-hit`);
      if (target) target.focus({ preventScroll: true });
    }
  }
  renderPager();
}

function signature(a) {
  return [a.status, a.name, a.thumbnailUrl ? 1 : 0, a.sizeBytes, a.durationMs, a.width].join("|");
}

function countText() {
  const noun = state.view === "music" ? (state.total === 1 ? "track" : "tracks") : state.total === 1 ? "asset" : "assets";
  if (!state.total) return `0 ${noun}`;
  const first = (state.page - 1) * state.pageSize + 1;
  const last = Math.min(state.total, first + state.items.length - 1);
  if (state.totalPages <= 1) return `${state.total} ${noun}`;
  return `${first}–${last} of ${state.total} ${noun}`;
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
  const li = el("li", { class: `card${a.isSystem ? " is-system" : ""}`, "data-id": a.id, "data-status": a.status, "data-type": a.type }, hit);
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

/* Music tab: rows with an inline play button. */
const player = new Audio();
player.preload = "none";
let playingId = null;

function rowFor(a) {
  const name = displayName(a);
  const playing = playingId === a.id && !player.paused;
  const play = el(
    "button",
    {
      class: "btn-icon row-play",
      type: "button",
      "aria-label": `${playing ? "Pause" : "Play"} ${name}`,
      "aria-pressed": String(playing),
      disabled: a.status !== "READY" || !a.fileUrl,
      onclick: () => togglePlay(a),
    },
    svgIcon(playing ? ICONS.pause : ICONS.play),
  );
  const m = a.metadata || {};
  const meta = [m.mood, m.bpm ? `${m.bpm} BPM` : null].filter(Boolean).join(" · ") || [formatBytes(a.sizeBytes), a.mimeType].filter(Boolean).join(" · ");
  const wave = a.thumbnailUrl
    ? el(
        "span",
        { class: "row-wave", "aria-hidden": "true" },
        el("img", { class: "wave-img", src: a.thumbnailUrl, alt: "", loading: "lazy", draggable: "false" }),
        el("img", { class: "wave-img wave-played", src: a.thumbnailUrl, alt: "", loading: "lazy", draggable: "false" }),
      )
    : null;
  const hit = el(
    "button",
    { class: "card-hit", type: "button", "aria-label": `${name}. Audio, ${formatDuration(a.durationMs) || "unknown length"}. Open details.`, onclick: () => openPreview(a) },
    el("span", { class: "row-art", style: `--ph-hue:${hueOf(a.id)}` }, svgIcon(ICONS.audio)),
    el("span", { class: "card-body" }, el("span", { class: "card-name", title: name, text: name }), el("span", { class: "card-meta", text: meta })),
    wave,
    el("span", { class: "row-duration", text: formatDuration(a.durationMs) }),
    a.status !== "READY" ? el("span", { class: `badge status status-${a.status.toLowerCase()}`, text: STATUS_LABEL[a.status] }) : null,
  );
  return el("li", { class: `card row${playing ? " playing" : ""}`, "data-id": a.id, "data-status": a.status, "data-type": a.type }, play, hit);
}

function togglePlay(a) {
  if (playingId === a.id && !player.paused) {
    player.pause();
  } else {
    if (playingId !== a.id) {
      player.src = a.fileUrl;
      playingId = a.id;
    }
    player.play().catch((err) => toast(`Can't play ${displayName(a)}: ${err.message}`, "error"));
  }
}

function refreshRows() {
  if (state.view !== "music") return;
  for (const li of $("#grid").children) {
    const a = state.items.find((x) => x.id === li.dataset.id);
    if (!a) continue;
    const node = rowFor(a);
    node.dataset.sig = li.dataset.sig;
    const hadFocus = li.contains(document.activeElement) ? document.activeElement.className : null;
    li.replaceWith(node);
    if (hadFocus) node.querySelector(`.${hadFocus.split(" ")[0]}`)?.focus();
  }
}
player.addEventListener("timeupdate", () => {
  const row = playingId && $(`#grid [data-id="${CSS.escape(playingId)}"]`);
  if (row && player.duration) row.style.setProperty("--played", `${(100 * player.currentTime) / player.duration}%`);
});
player.addEventListener("play", refreshRows);
player.addEventListener("pause", refreshRows);
player.addEventListener("ended", refreshRows);

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

/* ---------- polling: refresh while something is processing ---------- */

let pollTimer = null;
let pollDelay = POLL_MS;

function needsPolling() {
  return state.items.some((a) => a.status === "PROCESSING") || [...uploads.values()].some((u) => u.state === "processing");
}

function schedulePoll() {
  clearTimeout(pollTimer);
  pollTimer = null;
  if (!state.key || !needsPolling()) return;
  pollTimer = setTimeout(poll, pollDelay);
  pollDelay = Math.min(POLL_MAX_MS, Math.round(pollDelay * 1.25));
}

function stopPolling() {
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

/* ---------- uploads ---------- */

const uploads = new Map();
let uploadSeq = 0;

function addFiles(fileList) {
  const files = [...fileList];
  if (!files.length) return;
  for (const file of files) {
    const id = `u${++uploadSeq}`;
    const u = { id, file, state: "queued", progress: 0, xhr: null, assetId: null, message: "" };
    u.node = uploadRow(u);
    uploads.set(id, u);
    $("#upload-list").prepend(u.node);
  }
  $("#uploads").hidden = false;
  announce(`${files.length} ${files.length === 1 ? "file" : "files"} queued for upload.`);
  pumpUploads();
}

function uploadRow(u) {
  const bar = el("span", { class: "progress-bar" });
  const progress = el("span", {
    class: "progress",
    role: "progressbar",
    "aria-label": `Upload progress of ${u.file.name}`,
    "aria-valuemin": "0",
    "aria-valuemax": "100",
    "aria-valuenow": "0",
  }, bar);
  const status = el("span", { class: "upload-status" });
  const cancel = el(
    "button",
    { class: "btn-icon btn-sm upload-cancel", type: "button", "aria-label": `Cancel upload of ${u.file.name}`, onclick: () => cancelUpload(u) },
    svgIcon(ICONS.close),
  );
  const li = el(
    "li",
    { class: "upload", "data-state": u.state },
    el("span", { class: "upload-icon" }, svgIcon(iconForFile(u.file))),
    el(
      "span",
      { class: "upload-main" },
      el("span", { class: "upload-line" }, el("span", { class: "upload-name", text: u.file.name, title: u.file.name }), status),
      progress,
    ),
    cancel,
  );
  u.refs = { bar, progress, status, cancel };
  paintUpload(u, li);
  return li;
}

function iconForFile(file) {
  if (file.type.startsWith("video/")) return ICONS.video;
  if (file.type.startsWith("audio/")) return ICONS.audio;
  return ICONS.image;
}

function paintUpload(u, node = u.node) {
  const pct = Math.round(u.progress * 100);
  node.dataset.state = u.state;
  u.refs.bar.style.width = `${u.state === "uploading" ? pct : ["processing", "ready", "failed"].includes(u.state) ? 100 : 0}%`;
  u.refs.progress.setAttribute("aria-valuenow", String(u.state === "uploading" ? pct : u.state === "queued" ? 0 : 100));
  const size = formatBytes(u.file.size);
  const text = {
    queued: `Waiting · ${size}`,
    uploading: `${pct}% of ${size}`,
    processing: "Processing…",
    ready: "Ready",
    failed: `Failed: ${u.message || "processing error"}`,
    error: u.message || "Upload failed",
    canceled: "Canceled",
  }[u.state];
  u.refs.status.textContent = text;
  u.refs.cancel.hidden = !["queued", "uploading"].includes(u.state);
}

function pumpUploads() {
  const active = [...uploads.values()].filter((u) => u.state === "uploading").length;
  let free = UPLOAD_CONCURRENCY - active;
  for (const u of uploads.values()) {
    if (free <= 0) break;
    if (u.state === "queued") {
      startUpload(u);
      free -= 1;
    }
  }
}

function startUpload(u) {
  const xhr = new XMLHttpRequest();
  u.xhr = xhr;
  u.state = "uploading";
  paintUpload(u);
  xhr.open("POST", "/v1/assets");
  xhr.setRequestHeader("x-api-key", state.key);
  xhr.responseType = "text";
  xhr.upload.addEventListener("progress", (e) => {
    if (!e.lengthComputable) return;
    u.progress = e.loaded / e.total;
    paintUpload(u);
  });
  xhr.addEventListener("load", () => {
    let body = null;
    try {
      body = JSON.parse(xhr.responseText);
    } catch {
      body = null;
    }
    if (xhr.status === 201 || xhr.status === 200) {
      u.assetId = body && body.id;
      u.state = body && body.status === "READY" ? "ready" : body && body.status === "FAILED" ? "failed" : "processing";
      u.message = (body && body.failureReason) || "";
      announce(`${u.file.name} uploaded${u.state === "processing" ? ", processing" : ""}.`);
      load({ quiet: true });
    } else if (xhr.status === 401) {
      u.state = "error";
      u.message = "API key not accepted";
      signOut("That API key was not accepted (it may have been revoked). Paste a valid key.");
    } else {
      u.state = "error";
      u.message = sentence(body && body.message) || `Upload failed (HTTP ${xhr.status})`;
      announce(`${u.file.name}: ${u.message}`);
    }
    finishUpload(u);
  });
  xhr.addEventListener("error", () => {
    u.state = "error";
    u.message = "Network error: the upload did not reach the server";
    finishUpload(u);
  });
  xhr.addEventListener("abort", () => {
    u.state = "canceled";
    finishUpload(u);
  });
  const form = new FormData();
  form.append("file", u.file, u.file.name);
  form.append("name", u.file.name.slice(0, 256));
  xhr.send(form);
}

function finishUpload(u) {
  u.xhr = null;
  pollDelay = POLL_MS;
  paintUpload(u);
  pumpUploads();
  schedulePoll();
}

function cancelUpload(u) {
  if (u.state === "uploading" && u.xhr) u.xhr.abort();
  else if (u.state === "queued") {
    u.state = "canceled";
    paintUpload(u);
  }
}

async function checkUploads() {
  const pending = [...uploads.values()].filter((u) => u.state === "processing" && u.assetId);
  await Promise.all(
    pending.map(async (u) => {
      const shown = state.items.find((a) => a.id === u.assetId);
      let asset = shown && shown.status !== "PROCESSING" ? shown : null;
      if (!asset) {
        try {
          asset = await (await api(`/v1/assets/${encodeURIComponent(u.assetId)}`)).json();
        } catch (err) {
          if (err.code === 404) {
            u.state = "error";
            u.message = "The asset was deleted";
            paintUpload(u);
          }
          return;
        }
      }
      if (asset.status === "READY") {
        u.state = "ready";
        announce(`${u.file.name} is ready.`);
      } else if (asset.status === "FAILED") {
        u.state = "failed";
        u.message = asset.failureReason || "";
        announce(`${u.file.name} failed: ${u.message || "processing error"}.`);
      }
      paintUpload(u);
    }),
  );
}

function clearFinishedUploads() {
  for (const [id, u] of uploads) {
    if (["ready", "failed", "error", "canceled"].includes(u.state)) {
      u.node.remove();
      uploads.delete(id);
    }
  }
  if (!uploads.size) $("#uploads").hidden = true;
}

/* Drag and drop anywhere on the page. */
let dragDepth = 0;
const hasFiles = (e) => e.dataTransfer && [...e.dataTransfer.types].includes("Files");
window.addEventListener("dragenter", (e) => {
  if (!state.key || !hasFiles(e)) return;
  e.preventDefault();
  dragDepth += 1;
  $("#drop").hidden = false;
});
window.addEventListener("dragover", (e) => {
  if (!state.key || !hasFiles(e)) return;
  e.preventDefault();
  e.dataTransfer.dropEffect = "copy";
});
window.addEventListener("dragleave", () => {
  dragDepth = Math.max(0, dragDepth - 1);
  if (!dragDepth) $("#drop").hidden = true;
});
window.addEventListener("drop", (e) => {
  if (!hasFiles(e)) return;
  e.preventDefault();
  dragDepth = 0;
  $("#drop").hidden = true;
  if (state.key) addFiles(e.dataTransfer.files);
});

/* ---------- preview ---------- */

let previewAsset = null;
let previewReturnFocus = null;
let waveformAbort = null;

async function openPreview(a) {
  const dialog = $("#preview");
  if (!dialog.open) previewReturnFocus = document.activeElement;
  previewAsset = a;
  fillPreview(a);
  if (!dialog.open) dialog.showModal();
  // Fetch a fresh copy: newest status and freshly signed URLs.
  try {
    const fresh = await (await api(`/v1/assets/${encodeURIComponent(a.id)}`)).json();
    if (previewAsset && previewAsset.id === fresh.id && dialog.open) {
      const changed = fresh.status !== a.status || (fresh.fileUrl && !a.fileUrl);
      previewAsset = fresh;
      if (changed) fillPreview(fresh);
      else fillMeta(fresh);
    }
  } catch (err) {
    if (err.code === 404 && dialog.open) {
      dialog.close();
      toast(`${displayName(a)} no longer exists.`, "error");
      load({ quiet: true });
    }
  }
}

function fillPreview(a) {
  $("#preview-title").textContent = displayName(a);
  const box = $("#preview-media");
  stopPreviewMedia();
  box.className = `preview-media preview-${a.type.toLowerCase()}`;
  box.setAttribute("style", placeholderStyle(a));
  if (a.status === "PROCESSING") {
    box.replaceChildren(
      el("div", { class: "preview-note" }, el("span", { class: "spinner" }), el("p", { text: "Still processing. The preview appears when it is ready." })),
    );
  } else if (a.status === "FAILED" || !a.fileUrl) {
    box.replaceChildren(
      el("div", { class: "preview-note" }, svgIcon(ICONS.warn, "icon icon-xl"), el("p", { text: sentence(a.failureReason) || "This asset could not be processed." })),
    );
  } else if (a.type === "IMAGE") {
    // Sized before it loads, with the blurhash painted in its own box meanwhile.
    const blur = blurhashToDataURL(a.blurhash);
    box.replaceChildren(
      el("img", { src: a.fileUrl, alt: displayName(a), width: a.width, height: a.height, style: blur ? `background-image:url("${blur}")` : null }),
    );
  } else if (a.type === "VIDEO") {
    box.replaceChildren(
      el("video", { src: a.fileUrl, controls: true, playsinline: true, preload: "metadata", poster: a.thumbnailUrl || null, "aria-label": displayName(a) }),
    );
  } else {
    const canvas = el("canvas", { class: "waveform", role: "slider", tabindex: "0", "aria-label": "Seek", "aria-valuemin": "0", "aria-valuemax": "100", "aria-valuenow": "0" });
    const audio = el("audio", { src: a.fileUrl, controls: true, preload: "metadata", "aria-label": displayName(a) });
    box.replaceChildren(el("div", { class: "audio-wrap" }, el("div", { class: "waveform-wrap" }, canvas), audio));
    drawWaveform(a, canvas, audio);
  }
  fillMeta(a);
}

function fillMeta(a) {
  const rows = [
    ["Type", TYPE_LABEL[a.type] || a.type],
    ["Status", STATUS_LABEL[a.status] || a.status],
    ["Dimensions", formatDims(a)],
    ["Duration", a.durationMs ? formatDuration(a.durationMs) : ""],
    ["Size", formatBytes(a.sizeBytes)],
    ["Format", a.mimeType],
    ["Sound", a.type === "VIDEO" && a.hasAudio !== null && a.hasAudio !== undefined ? (a.hasAudio ? "Has audio" : "Silent") : ""],
    ["Added", formatDate(a.createdAt)],
    ["Library", a.isSystem ? "System library" : "Yours"],
    ["Error", a.status === "FAILED" ? sentence(a.failureReason) : ""],
    ...metadataRows(a.metadata),
    ["ID", a.id],
  ];
  $("#preview-meta").replaceChildren(
    ...rows.filter(([, v]) => v).flatMap(([k, v]) => [el("dt", { text: k }), el("dd", { text: v, class: k === "ID" ? "mono" : null })]),
  );
  const open = $("#preview-open");
  open.hidden = !a.fileUrl;
  if (a.fileUrl) open.href = a.fileUrl;
  $("#preview-delete").hidden = Boolean(a.isSystem);
}

/* Extra technical details (codec, frame rate…), known keys in friendly units. */
const META_FORMAT = {
  mood: ["Mood", (v) => v],
  bpm: ["Tempo", (v) => `${v} BPM`],
  codec: ["Codec", (v) => String(v).toUpperCase()],
  container: ["Container", (v) => String(v).toUpperCase()],
  sampleRate: ["Sample rate", (v) => `${+(v / 1000).toFixed(1)} kHz`],
  channels: ["Channels", (v) => ({ 1: "Mono", 2: "Stereo" })[v] || String(v)],
  bitRate: ["Bit rate", (v) => (v >= 1e6 ? `${(v / 1e6).toFixed(1)} Mbps` : `${Math.round(v / 1000)} kbps`)],
  frameRate: ["Frame rate", (v) => `${+(+v).toFixed(2)} fps`],
  fps: ["Frame rate", (v) => `${+(+v).toFixed(2)} fps`],
  loudnessLufs: ["Loudness", (v) => `${v} LUFS`],
  rotation: ["Rotation", (v) => `${v}°`],
};
const META_SKIP = new Set(["builtin", "format"]);

function metadataRows(meta) {
  if (!meta || typeof meta !== "object") return [];
  return Object.entries(meta)
    .filter(([k, v]) => !META_SKIP.has(k) && ["string", "number", "boolean"].includes(typeof v) && v !== "")
    .filter(([k, v]) => !(k === "frames" && v === 1))
    .slice(0, 10)
    .map(([k, v]) => {
      if (META_FORMAT[k]) return [META_FORMAT[k][0], META_FORMAT[k][1](v)];
      const label = k.replace(/([a-z])([A-Z])/g, "$1 $2").replace(/[_-]+/g, " ");
      const text = typeof v === "boolean" ? (v ? "Yes" : "No") : String(typeof v === "number" ? +v.toFixed(3) : v);
      return [label.charAt(0).toUpperCase() + label.slice(1).toLowerCase(), text];
    });
}

function stopPreviewMedia() {
  if (waveformAbort) waveformAbort.abort();
  waveformAbort = null;
  for (const m of $("#preview-media").querySelectorAll("video, audio")) {
    m.pause();
    m.removeAttribute("src");
    m.load();
  }
}

async function drawWaveform(a, canvas, audio) {
  const wrap = canvas.parentElement;
  const ctx = canvas.getContext("2d");
  let peaks = null;
  const paint = () => {
    const dpr = window.devicePixelRatio || 1;
    const w = wrap.clientWidth || 600;
    const h = wrap.clientHeight || 120;
    canvas.width = w * dpr;
    canvas.height = h * dpr;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, w, h);
    const css = getComputedStyle(canvas);
    const played = audio.duration ? audio.currentTime / audio.duration : 0;
    const bars = Math.max(20, Math.floor(w / 4));
    for (let i = 0; i < bars; i++) {
      const v = peaks ? peaks[Math.floor((i / bars) * peaks.length)] : 0.08 + 0.06 * Math.sin(i / 2);
      const bh = Math.max(2, v * (h - 8));
      ctx.fillStyle = i / bars < played ? css.getPropertyValue("--wave-played") : css.getPropertyValue("--wave");
      ctx.fillRect(i * 4, (h - bh) / 2, 2.5, bh);
    }
    canvas.setAttribute("aria-valuenow", String(Math.round(played * 100)));
    canvas.setAttribute("aria-valuetext", `${formatDuration(audio.currentTime * 1000)} of ${formatDuration((audio.duration || 0) * 1000)}`);
  };
  paint();
  audio.addEventListener("timeupdate", paint);
  audio.addEventListener("loadedmetadata", paint);
  const seek = (fraction) => {
    if (audio.duration) audio.currentTime = Math.max(0, Math.min(1, fraction)) * audio.duration;
    paint();
  };
  canvas.addEventListener("click", (e) => {
    const r = canvas.getBoundingClientRect();
    seek((e.clientX - r.left) / r.width);
  });
  canvas.addEventListener("keydown", (e) => {
    if (!audio.duration) return;
    const step = { ArrowRight: 5, ArrowUp: 5, ArrowLeft: -5, ArrowDown: -5 }[e.key];
    if (step) {
      e.preventDefault();
      seek((audio.currentTime + step) / audio.duration);
    } else if (e.key === " " || e.key === "Enter") {
      e.preventDefault();
      if (audio.paused) audio.play();
      else audio.pause();
    }
  });
  if (a.sizeBytes && a.sizeBytes > WAVEFORM_MAX_BYTES) return;
  waveformAbort = new AbortController();
  const signal = waveformAbort.signal;
  try {
    const buf = await (await fetch(a.fileUrl, { signal })).arrayBuffer();
    const Ctx = window.OfflineAudioContext || window.webkitOfflineAudioContext;
    const decoded = await new Ctx(1, 1, 44100).decodeAudioData(buf);
    const data = decoded.getChannelData(0);
    const n = 400;
    const block = Math.max(1, Math.floor(data.length / n));
    const out = new Float32Array(n);
    let max = 0;
    for (let i = 0; i < n; i++) {
      let peak = 0;
      for (let j = i * block; j < Math.min(data.length, (i + 1) * block); j += 4) peak = Math.max(peak, Math.abs(data[j]));
      out[i] = peak;
      max = Math.max(max, peak);
    }
    peaks = out.map((v) => (max ? v / max : 0));
    if (!signal.aborted) {
      canvas.classList.add("ready");
      paint();
    }
  } catch {
    /* decoding is a nicety: the player works without it */
  }
}

/* ---------- delete ---------- */

function askConfirm(a) {
  const dialog = $("#confirm");
  $("#confirm-title").textContent = `Delete “${displayName(a)}”?`;
  $("#confirm-text").textContent = "It disappears from the library and its links stop working. An admin can restore it for a short while.";
  dialog.returnValue = "";
  dialog.showModal();
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "ok"), { once: true });
  });
}

async function confirmDelete(a) {
  if (a.isSystem) {
    toast("System library assets can't be deleted.", "error");
    return;
  }
  const returnTo = document.activeElement;
  const ok = await askConfirm(a);
  if (!ok) {
    returnTo?.focus?.();
    return;
  }
  const grid = $("#grid");
  const cards = [...grid.querySelectorAll(".card-hit")];
  const idx = cards.findIndex((c) => c.closest("[data-id]")?.dataset.id === a.id);
  try {
    await api(`/v1/assets/${encodeURIComponent(a.id)}`, { method: "DELETE" });
    toast(`Deleted ${displayName(a)}.`);
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

/* ---------- announcements and toasts ---------- */

function announce(text) {
  const node = $("#announcer");
  node.textContent = "";
  requestAnimationFrame(() => {
    node.textContent = text;
  });
}

function toast(text, kind = "info") {
  const t = el("div", { class: `toast toast-${kind}`, role: kind === "error" ? "alert" : null, text });
  $("#toasts").append(t);
  setTimeout(() => {
    t.classList.add("leaving");
    setTimeout(() => t.remove(), 300);
  }, 4000);
}

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

  const preview = $("#preview");
  preview.addEventListener("click", (e) => {
    if (e.target === preview || e.target.closest("[data-close]")) preview.close();
  });
  preview.addEventListener("close", () => {
    stopPreviewMedia();
    previewAsset = null;
    if (previewReturnFocus && document.contains(previewReturnFocus)) previewReturnFocus.focus();
  });
  preview.addEventListener("keydown", (e) => {
    if (!previewAsset || e.target.closest("video, audio, canvas, input, select")) return;
    const i = state.items.findIndex((x) => x.id === previewAsset.id);
    if (e.key === "ArrowRight" || e.key === "ArrowLeft") {
      const next = state.items[i + (e.key === "ArrowRight" ? 1 : -1)];
      if (next) {
        e.preventDefault();
        openPreview(next);
      }
    } else if ((e.key === "Delete" || e.key === "Backspace") && !previewAsset.isSystem) {
      e.preventDefault();
      confirmDelete(previewAsset);
    }
  });
  $("#preview-delete").addEventListener("click", () => previewAsset && confirmDelete(previewAsset));
  $("#preview-copy").addEventListener("click", async () => {
    if (!previewAsset) return;
    try {
      await navigator.clipboard.writeText(previewAsset.id);
      toast("Asset ID copied.");
    } catch {
      toast(`ID: ${previewAsset.id}`);
    }
  });
  $("#confirm").addEventListener("click", (e) => {
    if (e.target === $("#confirm")) $("#confirm").close("cancel");
  });
}

wire();
const storedKey = readStoredKey();
if (storedKey) startApp(storedKey);
else showLogin("");

/* Requests to /v1 with the API key, and the key screen that asks for one. */

import { KEY_STORE, STATUSES, readRoute, state } from "./state.js";
import { $ } from "./dom.js";
import { sentence } from "./format.js";
import { load, stopPolling } from "./grid.js";
import { startLive, stopLive } from "./live.js";

class ApiError extends Error {
  constructor(code, message) {
    super(message);
    this.code = code;
  }
}

export async function api(path, { method = "GET", body, json, key = state.key } = {}) {
  let res;
  const headers = { "x-api-key": key || "" };
  if (json !== undefined) {
    headers["content-type"] = "application/json";
    body = JSON.stringify(json);
  }
  try {
    res = await fetch(path, { method, body, headers });
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

/* The request behind the current view: the list with its filters, or the trash. */
export function listPath() {
  const p = new URLSearchParams();
  if (state.view === "trash") {
    p.set("page", String(state.page));
    p.set("pageSize", String(state.pageSize));
    return `/v1/trash?${p}`;
  }
  if (state.q.trim()) p.set("q", state.q.trim());
  for (const t of state.tags) p.append("tag", t);
  if (state.sort !== "-createdAt") p.set("sort", state.sort);
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
  return `/v1/assets?${p}`;
}

/* ---------- key screen ---------- */

export function readStoredKey() {
  return localStorage.getItem(KEY_STORE) || sessionStorage.getItem(KEY_STORE);
}

export function showLogin(message = "") {
  stopPolling();
  stopLive();
  $("#app").hidden = true;
  $("#login").hidden = false;
  $("#login-error").textContent = message;
  const input = $("#login-key");
  input.setAttribute("aria-invalid", message ? "true" : "false");
  input.focus();
}

export function signOut(message = "") {
  localStorage.removeItem(KEY_STORE);
  sessionStorage.removeItem(KEY_STORE);
  state.key = null;
  state.loaded = false;
  for (const d of document.querySelectorAll("dialog[open]")) d.close();
  showLogin(message);
}

export async function onLoginSubmit(event) {
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

export function startApp(key) {
  state.key = key;
  $("#login").hidden = true;
  $("#app").hidden = false;
  readRoute();
  load();
  startLive();
}

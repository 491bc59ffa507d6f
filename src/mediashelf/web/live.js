/* The live event stream (GET /v1/events): cards and uploads change as the server says, with no
   polling. It is read with fetch(), so the key goes in the x-api-key header as on every other
   request (EventSource cannot send headers, and a key in the URL would reach logs). While the
   stream is down the page falls back to its slow polling, and reconnects after the last id. */

import { state } from "./state.js";
import { applyEvent, load, schedulePoll, stopPolling } from "./grid.js";
import { settleUpload, uploads } from "./upload.js";

export const live = { connected: false };

const RETRY_MS = 2000; // first wait before reconnecting; it doubles up to RETRY_MAX_MS
const RETRY_MAX_MS = 60000;
const RELOAD_MS = 250; // changes to the listing within this are fetched once

let controller = null;
let lastId = null;
let reloadTimer = null;

export function startLive() {
  stopLive();
  lastId = null;
  controller = new AbortController();
  run(controller.signal, state.key);
}

export function stopLive() {
  if (controller) controller.abort();
  controller = null;
  live.connected = false;
}

async function run(signal, key) {
  let wait = RETRY_MS;
  while (!signal.aborted && state.key === key) {
    try {
      const headers = { "x-api-key": key, accept: "text/event-stream" };
      if (lastId !== null) headers["last-event-id"] = lastId;
      const res = await fetch("/v1/events", { headers, signal, cache: "no-store" });
      if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`);
      live.connected = true;
      wait = RETRY_MS;
      stopPolling();
      reloadSoon(); // what changed before the stream began (or while it was down) shows now
      await readStream(res.body, signal);
    } catch {
      if (signal.aborted) return;
    }
    live.connected = false;
    schedulePoll(); // the fallback while the stream is down
    await sleep(wait, signal);
    wait = Math.min(RETRY_MAX_MS, wait * 2);
  }
}

function sleep(ms, signal) {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => {
      clearTimeout(t);
      resolve();
    });
  });
}

/* Server-Sent Events, parsed as the WHATWG spec says (lines end in CR LF, LF or CR). */
async function readStream(body, signal) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  signal.addEventListener("abort", () => reader.cancel().catch(() => {}));
  let buffer = "";
  let data = [];
  let type = "";
  let id = null;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    for (;;) {
      const at = buffer.search(/\r\n|\r|\n/);
      if (at < 0 || (at === buffer.length - 1 && buffer[at] === "\r")) break; // CR LF may be split
      const line = buffer.slice(0, at);
      buffer = buffer.slice(at + (buffer.startsWith("\r\n", at) ? 2 : 1));
      if (line === "") {
        if (data.length) dispatch(type || "message", data.join("\n"), id);
        data = [];
        type = "";
      } else if (!line.startsWith(":")) {
        const colon = line.indexOf(":");
        const field = colon < 0 ? line : line.slice(0, colon);
        let v = colon < 0 ? "" : line.slice(colon + 1);
        if (v.startsWith(" ")) v = v.slice(1);
        if (field === "data") data.push(v);
        else if (field === "event") type = v;
        else if (field === "id") id = v;
      }
    }
  }
}

function dispatch(type, text, id) {
  if (id !== null && /^[0-9]+$/.test(id)) lastId = id;
  if (type === "resync") {
    reloadSoon(); // events were missed: the listing says where things stand
    return;
  }
  let body;
  try {
    body = JSON.parse(text);
  } catch {
    return;
  }
  const asset = body && body.data;
  if (!asset || typeof asset.id !== "string") return;
  settleUpload(asset, type);
  if (type === "asset.ready" || type === "asset.failed") {
    if (!applyEvent(asset)) reloadSoon();
  } else if (!(type === "asset.created" && isOurUpload(asset.id))) {
    reloadSoon(); // our own uploads load the list when they finish sending
  }
}

function isOurUpload(id) {
  return [...uploads.values()].some((u) => u.assetId === id);
}

function reloadSoon() {
  clearTimeout(reloadTimer);
  reloadTimer = setTimeout(() => load({ quiet: true }), RELOAD_MS);
}

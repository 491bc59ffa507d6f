/* Uploads: a queue with progress rows, two at a time, and drag and drop anywhere on the page. */

import { state } from "./state.js";
import { api, signOut } from "./api.js";
import { $, ICONS, announce, el, svgIcon } from "./dom.js";
import { formatBytes, sentence } from "./format.js";
import { load, resetPollDelay, schedulePoll } from "./grid.js";

const UPLOAD_CONCURRENCY = 2;
// Larger files go resumable (tus, /v1/uploads): a dropped network costs one chunk, not the file.
const TUS_THRESHOLD = 16 * 1000 * 1000;
const TUS_CHUNK = 8 * 1024 * 1024;
const TUS_RETRY_DELAYS = [0, 1000, 2000, 3000, 5000, 5000, 10000, 10000, 10000, 20000, 30000];

export const uploads = new Map();
let uploadSeq = 0;

export function addFiles(fileList) {
  const files = [...fileList];
  if (!files.length) return;
  for (const file of files) {
    const id = `u${++uploadSeq}`;
    const u = { id, file, state: "queued", progress: 0, xhr: null, tus: null, assetId: null, message: "" };
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

let tusLoading = null;

/* tus-js-client (vendor/tus.min.js, from npm), loaded the first time a large file comes. */
function loadTus() {
  tusLoading ||= new Promise((resolve, reject) => {
    const script = document.createElement("script");
    script.src = "/web/vendor/tus.min.js";
    script.onload = () => resolve(window.tus);
    script.onerror = () => {
      tusLoading = null;
      reject(new Error("could not load the resumable upload client"));
    };
    document.head.append(script);
  });
  return tusLoading;
}

function startUpload(u) {
  if (u.file.size > TUS_THRESHOLD) startResumable(u);
  else startMultipart(u);
}

function uploadDone(u, body) {
  u.assetId = body && body.id;
  u.state = body && body.status === "READY" ? "ready" : body && body.status === "FAILED" ? "failed" : "processing";
  u.message = (body && body.failureReason) || "";
  announce(`${u.file.name} uploaded${u.state === "processing" ? ", processing" : ""}.`);
  load({ quiet: true });
}

async function startResumable(u) {
  u.state = "uploading";
  paintUpload(u);
  let tus;
  try {
    tus = await loadTus();
  } catch (err) {
    u.state = "error";
    u.message = err.message;
    finishUpload(u);
    return;
  }
  if (u.state !== "uploading") return; // canceled while loading
  const upload = new tus.Upload(u.file, {
    endpoint: "/v1/uploads",
    headers: { "x-api-key": state.key },
    chunkSize: TUS_CHUNK,
    retryDelays: TUS_RETRY_DELAYS,
    metadata: { filename: u.file.name, filetype: u.file.type || "application/octet-stream" },
    storeFingerprintForResuming: true, // a reloaded page resumes the same file
    removeFingerprintOnSuccess: true,
    // tus-js-client gives up at once while the browser says it is offline; we wait instead
    onShouldRetry: (err) => {
      const status = err.originalResponse ? err.originalResponse.getStatus() : 0;
      return status === 0 || status >= 500 || [409, 423, 429].includes(status);
    },
    onProgress: (sent, total) => {
      u.progress = total ? sent / total : 0;
      paintUpload(u);
    },
    onSuccess: async ({ lastResponse }) => {
      const id = lastResponse && lastResponse.getHeader("X-Asset-Id");
      let body = null;
      try {
        body = id ? await (await api(`/v1/assets/${encodeURIComponent(id)}`)).json() : null;
      } catch {
        body = { id, status: "PROCESSING" };
      }
      uploadDone(u, body || { id, status: "PROCESSING" });
      finishUpload(u);
    },
    onError: (err) => {
      const res = err && err.originalResponse;
      const status = res ? res.getStatus() : 0;
      if (!status && navigator.onLine === false && u.state === "uploading") {
        // offline for longer than the retries: go on from the server's offset once back
        window.addEventListener("online", () => u.state === "uploading" && upload.start(), { once: true });
        return;
      }
      let body = null;
      try {
        body = res ? JSON.parse(res.getBody()) : null;
      } catch {
        body = null;
      }
      u.state = "error";
      if (status === 401) {
        u.message = "API key not accepted";
        signOut("That API key was not accepted (it may have been revoked). Paste a valid key.");
      } else {
        u.message = sentence(body && body.message) || (status ? `Upload failed (HTTP ${status})` : "Network error: the upload did not reach the server");
        announce(`${u.file.name}: ${u.message}`);
      }
      finishUpload(u);
    },
  });
  u.tus = upload;
  const previous = await upload.findPreviousUploads().catch(() => []);
  if (previous.length) upload.resumeFromPreviousUpload(previous[0]);
  upload.start();
}

function startMultipart(u) {
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
      uploadDone(u, body);
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
  // the server names the asset after the file, exactly; no separate (trimmed) name field
  const form = new FormData();
  form.append("file", u.file, u.file.name);
  xhr.send(form);
}

function finishUpload(u) {
  u.xhr = null;
  u.tus = null;
  resetPollDelay();
  paintUpload(u);
  pumpUploads();
  schedulePoll();
}

function cancelUpload(u) {
  if (u.state === "uploading" && u.xhr) u.xhr.abort();
  else if (u.state === "uploading" && u.tus) {
    u.tus.abort(true).catch(() => {}); // true: the server drops what it has (tus termination)
    u.state = "canceled";
    finishUpload(u);
  } else if (u.state === "uploading") {
    u.state = "canceled"; // still loading the client
    finishUpload(u);
  } else if (u.state === "queued") {
    u.state = "canceled";
    paintUpload(u);
  }
}

export async function checkUploads() {
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
      settle(u, asset);
    }),
  );
}

/* An event of the stream about an asset one of our uploads became. */
export function settleUpload(asset, type) {
  for (const u of uploads.values()) {
    if (u.state !== "processing" || u.assetId !== asset.id) continue;
    if (type === "asset.deleted" || type === "asset.purged") {
      u.state = "error";
      u.message = "The asset was deleted";
      paintUpload(u);
    } else {
      settle(u, asset);
    }
  }
}

function settle(u, asset) {
  if (asset.status === "READY") {
    u.state = "ready";
    announce(`${u.file.name} is ready.`);
  } else if (asset.status === "FAILED") {
    u.state = "failed";
    u.message = asset.failureReason || "";
    announce(`${u.file.name} failed: ${u.message || "processing error"}.`);
  }
  paintUpload(u);
}

export function clearFinishedUploads() {
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

/* Uploads: a queue with progress rows, two at a time, and drag and drop anywhere on the page. */

import { state } from "./state.js";
import { api, signOut } from "./api.js";
import { $, ICONS, announce, el, svgIcon } from "./dom.js";
import { formatBytes, sentence } from "./format.js";
import { load, resetPollDelay, schedulePoll } from "./grid.js";

const UPLOAD_CONCURRENCY = 2;

export const uploads = new Map();
let uploadSeq = 0;

export function addFiles(fileList) {
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
  // the server names the asset after the file, exactly; no separate (trimmed) name field
  const form = new FormData();
  form.append("file", u.file, u.file.name);
  xhr.send(form);
}

function finishUpload(u) {
  u.xhr = null;
  resetPollDelay();
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

/* The preview dialog: the file itself, a waveform for audio, and every detail. */

import { state } from "./state.js";
import { api } from "./api.js";
import { $, ICONS, el, svgIcon, toast } from "./dom.js";
import {
  STATUS_LABEL,
  TYPE_LABEL,
  displayName,
  formatBytes,
  formatDate,
  formatDims,
  formatDuration,
  sentence,
} from "./format.js";
import { blurhashToDataURL, placeholderStyle } from "./blurhash.js";
import { load } from "./grid.js";
import { confirmDelete } from "./dialogs.js";
import { endRename, isRenaming, startRename } from "./rename.js";
import { fillTagEditor, wireTagEditor } from "./tags.js";

const WAVEFORM_MAX_BYTES = 40 * 1024 * 1024;

export let previewAsset = null;
let previewReturnFocus = null;
let waveformAbort = null;

export async function openPreview(a, { rename = false } = {}) {
  const dialog = $("#preview");
  if (!dialog.open) previewReturnFocus = document.activeElement;
  previewAsset = a;
  fillPreview(a);
  if (!dialog.open) dialog.showModal();
  if (rename) startRename(a, onSaved);
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

/* A rename or a tag change came back: show it here and in the list behind. */
function onSaved(fresh) {
  if (!previewAsset || previewAsset.id !== fresh.id) return;
  previewAsset = fresh;
  state.items = state.items.map((x) => (x.id === fresh.id ? fresh : x));
  if (!isRenaming()) $("#preview-title").textContent = displayName(fresh);
  fillMeta(fresh);
  load({ quiet: true });
}

function fillPreview(a) {
  if (isRenaming()) endRename(displayName(a));
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
  const download = $("#preview-download");
  download.hidden = !a.fileUrl;
  if (a.fileUrl) download.href = a.fileUrl;
  $("#preview-copy-url").hidden = !a.fileUrl;
  $("#preview-delete").hidden = Boolean(a.isSystem);
  $("#preview-rename").hidden = Boolean(a.isSystem) || isRenaming();
  fillTagEditor(a, onSaved);
}

async function copy(text, done) {
  try {
    await navigator.clipboard.writeText(text);
    toast(done);
  } catch {
    toast(text);
  }
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

export function wirePreview() {
  const preview = $("#preview");
  preview.addEventListener("click", (e) => {
    if (e.target === preview || e.target.closest("[data-close]")) preview.close();
  });
  preview.addEventListener("cancel", (e) => {
    if (isRenaming()) e.preventDefault(); // Escape in the name field cancels the rename only
  });
  preview.addEventListener("close", () => {
    endRename("");
    stopPreviewMedia();
    previewAsset = null;
    if (previewReturnFocus && document.contains(previewReturnFocus)) previewReturnFocus.focus();
  });
  preview.addEventListener("keydown", (e) => {
    if (!previewAsset || e.target.closest("video, audio, canvas, input, select")) return;
    if (e.key === "F2" && !previewAsset.isSystem) {
      e.preventDefault();
      startRename(previewAsset, onSaved);
      return;
    }
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
  $("#preview-copy").addEventListener("click", () => previewAsset && copy(previewAsset.id, "Asset ID copied."));
  $("#preview-copy-url").addEventListener("click", () => previewAsset?.fileUrl && copy(previewAsset.fileUrl, "File URL copied (it expires; copy it again later for a fresh one)."));
  $("#preview-rename").addEventListener("click", () => previewAsset && startRename(previewAsset, onSaved));
  wireTagEditor();
}

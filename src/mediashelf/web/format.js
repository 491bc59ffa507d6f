/* How values read on the page: names, sizes, durations, dates, labels. */

export const TYPE_LABEL = { IMAGE: "Image", VIDEO: "Video", AUDIO: "Audio" };
export const STATUS_LABEL = { READY: "Ready", PROCESSING: "Processing", FAILED: "Failed" };

/* Server messages are lower-case clauses ("file larger than 3 MB"): show them as sentences. */
export function sentence(text) {
  const t = String(text || "").trim();
  return t ? t.charAt(0).toUpperCase() + t.slice(1) : t;
}

export function displayName(a) {
  return a.name || "Untitled";
}

/* Decimal units, one decimal at most, half up: the same rule as the CLI and the server's
   messages ("file larger than 50 MB"). BigInt keeps the rounding exact at any size. */
export function formatBytes(n) {
  if (n === null || n === undefined || !Number.isFinite(Number(n))) return "";
  const bytes = BigInt(Math.trunc(Number(n)));
  if (bytes < 1000n) return `${bytes} B`;
  const units = ["kB", "MB", "GB", "TB"];
  let tenths = 0n;
  let i = 0;
  for (; i < units.length; i += 1) {
    const size = 1000n ** BigInt(i + 1);
    tenths = (bytes * 10n + size / 2n) / size;
    if (tenths < 10000n || i === units.length - 1) break;
  }
  const whole = tenths / 10n;
  const tenth = tenths % 10n;
  return tenth === 0n ? `${whole} ${units[i]}` : `${whole}.${tenth} ${units[i]}`;
}

export function formatDuration(ms) {
  if (ms === null || ms === undefined) return "";
  const total = Math.round(ms / 1000);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = String(total % 60).padStart(2, "0");
  return h ? `${h}:${String(m).padStart(2, "0")}:${s}` : `${m}:${s}`;
}

export function formatDims(a) {
  return a.width && a.height ? `${a.width}×${a.height}` : "";
}

const relFmt = new Intl.RelativeTimeFormat(undefined, { numeric: "auto" });
export function formatRelative(iso) {
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

export function formatDate(iso) {
  const t = Date.parse(iso);
  return Number.isNaN(t) ? "" : new Date(t).toLocaleString();
}

export function metaLine(a) {
  const parts = [];
  if (a.type === "IMAGE") parts.push(formatDims(a));
  if (a.type === "VIDEO") parts.push(formatDims(a));
  if (a.type === "AUDIO") parts.push(formatDuration(a.durationMs));
  parts.push(formatBytes(a.sizeBytes));
  return parts.filter(Boolean).join(" · ");
}

export function hueOf(text) {
  let h = 0;
  for (const ch of String(text)) h = (h * 31 + ch.charCodeAt(0)) >>> 0;
  return h % 360;
}

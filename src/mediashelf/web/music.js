/* Music tab: rows with an inline play button, one shared player. */

import { state } from "./state.js";
import { $, ICONS, el, svgIcon, toast } from "./dom.js";
import { STATUS_LABEL, displayName, formatBytes, formatDuration, hueOf } from "./format.js";
import { openPreview } from "./preview.js";
import { tagChips } from "./tags.js";

const player = new Audio();
player.preload = "none";
let playingId = null;

export function rowFor(a) {
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
  // The mood shows as tag chips when the track has them; the tempo only here.
  const mood = a.tags && a.tags.length ? null : m.mood;
  const meta = [mood, m.bpm ? `${m.bpm} BPM` : null].filter(Boolean).join(" · ") || [formatBytes(a.sizeBytes), a.mimeType].filter(Boolean).join(" · ");
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
  return el("li", { class: `card row${playing ? " playing" : ""}`, "data-id": a.id, "data-status": a.status, "data-type": a.type }, play, hit, tagChips(a));
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

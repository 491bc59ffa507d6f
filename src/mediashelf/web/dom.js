/* DOM helpers, icons, and messages for people: announcements for screen readers, toasts. */

export const $ = (sel, root = document) => root.querySelector(sel);

export function el(tag, attrs = {}, ...children) {
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

export function svgIcon(path, cls = "icon") {
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

export const ICONS = {
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

export function announce(text) {
  const node = $("#announcer");
  node.textContent = "";
  requestAnimationFrame(() => {
    node.textContent = text;
  });
}

/* A short message; `action` ({ label, run }) adds a button to it (Undo) and keeps it longer. */
export function toast(text, kind = "info", action = null) {
  const t = el("div", { class: `toast toast-${kind}`, role: kind === "error" ? "alert" : null, text });
  if (action) {
    const run = () => {
      t.remove();
      action.run();
    };
    t.append(el("button", { class: "toast-action", type: "button", text: action.label, onclick: run }));
  }
  $("#toasts").append(t);
  setTimeout(() => {
    t.classList.add("leaving");
    setTimeout(() => t.remove(), 300);
  }, action ? 8000 : 4000);
}

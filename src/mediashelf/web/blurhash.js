/* Blurhash (https://blurha.sh) placeholders, decoded to a tiny data URL. */

import { hueOf } from "./format.js";

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

export function blurhashToDataURL(hash) {
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

export function placeholderStyle(a) {
  const blur = blurhashToDataURL(a.blurhash);
  if (blur) return `background-image:url("${blur}")`;
  const hue = hueOf(a.id);
  return `--ph-hue:${hue}`;
}

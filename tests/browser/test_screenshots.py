"""Screenshots of the page's main states for docs/screenshots; a dedicated run, not part of CI:

    MEDIASHELF_SCREENSHOTS=docs/screenshots pytest tests/browser/test_screenshots.py
"""

from __future__ import annotations

import os
import random
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFilter

from tests.support.server import Server, upload, wait_for
from tests.support.waiting import wait_until

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(not os.environ.get("MEDIASHELF_SCREENSHOTS"),
                       reason="set MEDIASHELF_SCREENSHOTS=DIR to take the docs screenshots"),
]

TAGS = {  # the scenes' tags, for the chips on the cards
    "Alpine sunrise": "mountain, sunrise", "Desert dusk": "desert, sunset",
    "Coastline noon": "sea, summer", "Pine forest fog": "forest, mood",
    "City night": "city, night", "Lavender fields": "summer, flowers",
    "Autumn valley": "autumn, mountain", "Glacier blue": "mountain, winter",
}

SCENES = [  # name, sky top, sky bottom, sun, hills
    ("Alpine sunrise", (255, 183, 130), (255, 236, 200), (255, 250, 235), (70, 90, 140)),
    ("Desert dusk", (94, 60, 153), (250, 150, 110), (255, 220, 150), (120, 60, 70)),
    ("Coastline noon", (90, 170, 240), (200, 235, 255), (255, 255, 240), (40, 120, 140)),
    ("Pine forest fog", (170, 190, 185), (225, 232, 228), (245, 245, 240), (40, 80, 70)),
    ("City night", (15, 20, 50), (60, 50, 110), (240, 240, 255), (25, 25, 45)),
    ("Lavender fields", (180, 160, 230), (255, 210, 220), (255, 245, 230), (110, 80, 160)),
    ("Autumn valley", (255, 160, 90), (255, 225, 170), (255, 245, 220), (140, 70, 40)),
    ("Glacier blue", (120, 190, 230), (225, 245, 255), (255, 255, 255), (70, 130, 170)),
]


def scene(size: tuple[int, int], top: tuple[int, ...], bottom: tuple[int, ...],
          sun: tuple[int, ...], hills: tuple[int, ...], seed: int) -> Image.Image:
    """A small landscape: sky gradient, sun, three layers of hills."""
    w, h = size
    rng = random.Random(seed)
    t = np.linspace(0, 1, h)[:, None, None]
    sky = (np.array(top) * (1 - t) + np.array(bottom) * t).repeat(w, axis=1)
    im = Image.fromarray(sky.astype(np.uint8), "RGB")
    draw = ImageDraw.Draw(im)
    cx, cy, r = w * rng.uniform(0.25, 0.75), h * rng.uniform(0.3, 0.45), h * 0.09
    draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=sun)
    im = im.filter(ImageFilter.GaussianBlur(1.5))
    draw = ImageDraw.Draw(im)
    for layer in range(3):
        far = 2 - layer  # distant hills are lighter
        shade = tuple(int(c * (0.55 + 0.22 * far) + 255 * 0.12 * far) for c in hills)
        base = h * (0.55 + 0.13 * layer)
        points = [(0.0, float(h))]
        x = 0.0
        while x <= w:
            points.append((x, base - rng.uniform(0, h * 0.16)))
            x += w / rng.randint(5, 9)
        points += [(float(w), base), (float(w), float(h))]
        draw.polygon(points, fill=shade)
    return im


def make_video(path: Path, size: tuple[int, int] = (480, 270), seconds: float = 3.0) -> Path:
    frame0 = scene((size[0] * 2, size[1]), *SCENES[2][1:], seed=7)
    fps = 12
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.width, stream.height = size
        stream.pix_fmt = "yuv420p"
        for i in range(int(seconds * fps)):
            x = int(i * size[0] / (seconds * fps))
            arr = np.asarray(frame0.crop((x, 0, x + size[0], size[1])))
            for packet in stream.encode(av.VideoFrame.from_ndarray(arr, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


def make_voice(path: Path, seconds: float = 6.0, rate: int = 22050) -> Path:
    """A mono mp3 with speech-like bursts, so its waveform has a shape."""
    t = np.arange(int(seconds * rate)) / rate
    envelope = np.clip(np.sin(2 * np.pi * 0.7 * t) * np.sin(2 * np.pi * 2.3 * t) * 1.6, 0, 1)
    tone = np.sin(2 * np.pi * 180 * t) + 0.5 * np.sin(2 * np.pi * 365 * t)
    data = (0.3 * envelope * tone).astype(np.float32)
    with av.open(str(path), "w", format="mp3") as out:
        stream = out.add_stream("libmp3lame", rate=rate, layout="mono")
        for start in range(0, data.size, 1152):
            frame = av.AudioFrame.from_ndarray(data[start:start + 1152].reshape(1, -1),
                                               format="flt", layout="mono")
            frame.sample_rate, frame.pts = rate, start
            frame.time_base = Fraction(1, rate)
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


def test_screenshots(browser: Any, tmp_path: Path) -> None:
    out = Path(os.environ["MEDIASHELF_SCREENSHOTS"])
    out.mkdir(parents=True, exist_ok=True)
    srv = Server(tmp_path / "data", {"MEDIASHELF_SEED_MUSIC": "true",
                                     "MEDIASHELF_MAX_IMAGE_BYTES": "3000000"}).start()
    try:
        _shoot(browser, srv, tmp_path, out)
    finally:
        srv.stop()


def _shoot(browser: Any, srv: Server, tmp: Path, out: Path) -> None:
    key = srv.new_key("studio")
    with srv.client(key) as c:
        def music_ready() -> bool:
            res = c.get("/v1/assets", params={"scope": "system", "type": "AUDIO"})
            return int(res.headers["X-Total-Count"]) >= 6
        wait_until("the built-in music is ready", music_ready, 180, 0.5)

        files: list[Path] = [make_video(tmp / "Drone pass.mp4")]
        for i, (name, *colors) in enumerate(SCENES):
            size = [(1600, 900), (1200, 1200), (1080, 1350)][i % 3]
            path = tmp / f"{name}.jpg"
            scene(size, *colors, seed=i).save(path, quality=88)
            files.append(path)
        files.insert(3, make_voice(tmp / "Voiceover take 3.mp3"))
        broken = tmp / "Export v2.mp4"
        broken.write_bytes(files[0].read_bytes()[:300])  # truncated: processing fails
        files.insert(5, broken)
        ids = [upload(c, p, name=p.name, tags=TAGS.get(p.stem, ""))["id"]
               for p in reversed(files)]
        for asset_id in ids:
            wait_for(c, asset_id)

    def page_for(width: int = 1280, height: int = 800, **kw: Any) -> Any:
        ctx = browser.new_context(viewport={"width": width, "height": height}, **kw)
        page = ctx.new_page()
        page.goto(srv.url + "/")
        page.evaluate("k => localStorage.setItem('mediashelf.apiKey', k)", key)
        page.reload()
        page.locator("#grid > li[data-id]").first.wait_for()
        settle(page)
        return page

    def settle(page: Any) -> None:
        page.mouse.move(1, 1)
        page.wait_for_function(
            "[...document.images].every(i => i.complete)"
            " && document.querySelector('#grid').getAttribute('aria-busy') === 'false'")
        page.wait_for_timeout(400)

    page = page_for()
    page.screenshot(path=out / "library.png")
    page.context.close()

    page = page_for(color_scheme="dark")
    page.screenshot(path=out / "library-dark.png")
    page.context.close()

    page = page_for()
    page.locator(".card", has_text="Alpine sunrise").locator(".card-hit").click()
    page.wait_for_function("() => { const i = document.querySelector('#preview img');"
                           " return i && i.complete && i.naturalWidth > 0; }")
    page.wait_for_timeout(300)
    page.screenshot(path=out / "preview.png")
    page.context.close()

    page = page_for()
    page.get_by_role("tab", name="Music").click()
    page.locator(".row[data-id]").first.wait_for()
    page.locator(".row-play").nth(1).click()
    page.wait_for_function("() => document.querySelector('.row.playing')")
    page.wait_for_timeout(2500)
    settle(page)
    page.screenshot(path=out / "music.png")
    page.context.close()

    page = page_for(390, 844, is_mobile=True, has_touch=True, device_scale_factor=2)
    page.screenshot(path=out / "phone.png")
    page.context.close()

    # Finding and organizing: a search, a tag filter and a selection.
    page = page_for()
    page.get_by_role("button", name="Filter by tag mountain").first.click()
    page.wait_for_function("() => location.hash.includes('tag=mountain')")
    settle(page)
    for box in page.locator(".card-select").all()[:2]:
        box.check()
    page.wait_for_timeout(300)
    page.screenshot(path=out / "search.png")
    page.context.close()

    with srv.client(key) as c:
        for asset_id in ids[-3:-1]:
            c.delete(f"/v1/assets/{asset_id}")
    page = page_for()
    page.get_by_role("tab", name="Trash").click()
    page.locator(".trash-row").first.wait_for()
    settle(page)
    page.screenshot(path=out / "trash.png")
    page.context.close()

    # Uploads in flight: one file over the image limit, then two on a slow link.
    page = page_for()
    noisy = tmp / "Studio backdrop.png"
    Image.effect_noise((1000, 900), 90).convert("RGB").save(noisy)
    noisy2 = tmp / "Product closeup.png"
    Image.effect_noise((900, 800), 60).convert("RGB").save(noisy2)
    huge = tmp / "Poster master.png"
    Image.effect_noise((1600, 1400), 120).convert("RGB").save(huge)
    small = tmp / "Logo sting.jpg"
    scene((800, 450), *SCENES[5][1:], seed=11).save(small, quality=85)

    def choose(*paths: Path) -> None:
        with page.expect_file_chooser() as chooser:
            page.get_by_role("button", name="Upload").click()
        chooser.value.set_files([str(p) for p in paths])

    choose(huge)
    page.locator('.upload[data-state="error"]').wait_for(timeout=60_000)
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.emulateNetworkConditions", {"offline": False, "latency": 20,
                                                  "downloadThroughput": -1,
                                                  "uploadThroughput": 300_000})
    choose(small, noisy, noisy2)
    page.locator('.upload[data-state="ready"]').wait_for(timeout=60_000)
    page.wait_for_function(
        "() => [...document.querySelectorAll('.upload[data-state=uploading] .progress')]"
        ".some(b => +b.getAttribute('aria-valuenow') > 40)", timeout=60_000)
    page.mouse.move(1, 1)
    page.screenshot(path=out / "upload.png")
    cdp.send("Network.emulateNetworkConditions", {"offline": False, "latency": 0,
                                                  "downloadThroughput": -1,
                                                  "uploadThroughput": -1})
    page.context.close()

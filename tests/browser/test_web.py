"""The web page at / in headless Chromium: key screen, upload, live status, filters, pages,
preview, delete, the music tab, phone width; a large upload (tus) that survives going offline."""

from __future__ import annotations

import hashlib
import re
import time
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import TONE_NAME
from tests.support import samples
from tests.support.server import Server, wait_for
from tests.support.tus import noise_png

pytestmark = pytest.mark.browser

DASH, TIMES = "\u2013", "\u00d7"  # en dash and times sign, as the page prints them


def cards(page: Any) -> Any:
    return page.locator("#grid > li[data-id]")


def card(page: Any, name: str) -> Any:
    return cards(page).filter(has=page.locator(".card-name", has_text=re.compile(f"^{name}$")))


def test_key_screen_rejects_a_bad_key_and_remembers_a_good_one(
        new_page: Any, web_server: Server, key: str) -> None:
    page = new_page()
    page.goto(web_server.url + "/")
    page.get_by_label("API key").fill("msk_not-a-real-key")
    page.get_by_role("button", name="Open library").click()
    expect(page.locator("#login-error")).to_contain_text("not accepted")
    expect(page.locator("#app")).to_be_hidden()

    page.get_by_label("API key").fill(key)
    page.get_by_role("button", name="Open library").click()
    expect(page.locator("#state")).to_contain_text("Your library is empty")
    page.reload()  # the key is kept in the browser's storage
    expect(page.locator("#state")).to_contain_text("Your library is empty")
    expect(page.locator("#login")).to_be_hidden()

    web_server.cli("keys", "revoke", key)
    page.reload()
    expect(page.locator("#login")).to_be_visible()
    expect(page.locator("#login-error")).to_contain_text("not accepted")


def test_upload_by_file_picker_turns_ready_live(
        new_page: Any, login: Any, key: str, tmp_path: Path) -> None:
    png = samples.png(tmp_path / "sunset.png", size=(320, 200), color=(240, 120, 40))
    page = new_page()
    login(page, key)
    with page.expect_file_chooser() as chooser:
        page.get_by_role("button", name="Upload").click()
    chooser.value.set_files(str(png))

    upload_row = page.locator(".upload", has_text="sunset.png")
    expect(upload_row).to_have_attribute("data-state", "ready", timeout=30_000)
    item = card(page, "sunset.png")
    expect(item).to_have_attribute("data-status", "READY")
    expect(item.locator(".status")).to_have_text("Ready")
    expect(item).to_contain_text(f"320{TIMES}200")
    thumb = item.locator(".thumb img")
    expect(thumb).to_have_count(1)
    page.wait_for_function("img => img.complete && img.naturalWidth > 0",
                           arg=thumb.element_handle())
    expect(page.locator("#count")).to_have_text("1 asset")


def test_a_file_name_from_the_page_arrives_exactly(
        new_page: Any, login: Any, key: str, web_server: Server, tmp_path: Path) -> None:
    name = '東京 "🎬" 100%.png'  # the browser writes " as %22 in the form
    png = samples.png(tmp_path / name)
    page = new_page()
    login(page, key)
    with page.expect_file_chooser() as chooser:
        page.get_by_role("button", name="Upload").click()
    chooser.value.set_files(str(png))
    expect(card(page, re.escape(name))).to_have_attribute("data-status", "READY",
                                                          timeout=30_000)
    with web_server.client(key) as api:
        assert name in [a["name"] for a in api.get("/v1/assets").json()]


def test_filters_and_pagination_follow_the_headers(
        new_page: Any, login: Any, web_server: Server, key: str, add_asset: Any,
        tmp_path: Path) -> None:
    for i, color in enumerate([(200, 30, 30), (30, 160, 60), (40, 60, 200)]):
        add_asset(samples.png(tmp_path / f"still-{i}.png", color=color))
    add_asset(samples.mp3(tmp_path / "voice.mp3"))
    page = new_page()
    login(page, key)
    expect(cards(page)).to_have_count(4)

    page.goto(web_server.url + "/#/library?pageSize=3")
    expect(cards(page)).to_have_count(3)
    expect(page.locator("#count")).to_have_text(f"1{DASH}3 of 4 assets")
    page.get_by_role("button", name="Next page").click()
    expect(page.locator("#pager [aria-current=page]")).to_have_text("2")
    expect(cards(page)).to_have_count(1)
    expect(page.locator("#count")).to_have_text(f"4{DASH}4 of 4 assets")
    expect(page.get_by_role("button", name="Next page")).to_be_disabled()

    page.get_by_text("Audio", exact=True).click()
    expect(cards(page)).to_have_count(1)
    expect(cards(page).first).to_have_attribute("data-type", "AUDIO")
    expect(page.locator("#pager")).to_be_hidden()
    page.get_by_text("Images", exact=True).click()
    expect(page.locator("#count")).to_have_text("3 assets")
    page.get_by_label("Status").select_option("FAILED")
    expect(page.locator("#state")).to_contain_text("Nothing matches these filters")
    page.get_by_role("button", name="Clear filters").click()
    expect(page.locator("#count")).to_have_text(f"1{DASH}3 of 4 assets")


def test_preview_by_keyboard_and_delete_with_confirmation(
        new_page: Any, login: Any, web_server: Server, key: str, add_asset: Any,
        tmp_path: Path) -> None:
    keep = add_asset(samples.png(tmp_path / "keep.png", color=(10, 90, 200)))
    gone = add_asset(samples.jpeg(tmp_path / "gone.jpg", size=(160, 120)))
    page = new_page()
    login(page, key)

    card(page, "gone.jpg").locator(".card-hit").focus()
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog", name="gone.jpg")
    expect(dialog).to_be_visible()
    image = dialog.locator(".preview-media img")
    page.wait_for_function("img => img.complete && img.naturalWidth === 160",
                           arg=image.element_handle())
    expect(dialog.locator("#preview-meta")).to_contain_text(f"160{TIMES}120")
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()

    # Delete key asks first; Escape cancels and keeps the asset.
    card(page, "gone.jpg").locator(".card-hit").focus()
    page.keyboard.press("Delete")
    confirm = page.get_by_role("dialog", name=re.compile("Delete “gone.jpg”"))
    expect(confirm).to_be_visible()
    page.keyboard.press("Escape")
    expect(confirm).to_be_hidden()
    expect(cards(page)).to_have_count(2)

    # From the preview: Delete, then confirm.
    card(page, "gone.jpg").locator(".card-hit").click()
    page.get_by_role("dialog", name="gone.jpg").get_by_role("button", name="Delete").click()
    confirm.get_by_role("button", name="Delete").click()
    expect(card(page, "gone.jpg")).to_have_count(0)
    expect(page.locator("#preview")).to_be_hidden()
    expect(cards(page)).to_have_count(1)
    with web_server.client(key) as c:
        assert c.get(f"/v1/assets/{gone['id']}").status_code == 404
        assert c.get(f"/v1/assets/{keep['id']}").status_code == 200


def test_video_preview_plays_the_signed_url_with_range(
        new_page: Any, login: Any, key: str, add_asset: Any, tmp_path: Path) -> None:
    add_asset(samples.mp4(tmp_path / "clip.mp4", seconds=2.0))
    page = new_page()
    login(page, key)
    ranges: list[str] = []
    page.on("request", lambda r: ranges.append(r.headers.get("range", ""))
            if "/files/" in r.url and r.resource_type == "media" else None)
    expect(card(page, "clip.mp4").locator(".badge-duration")).to_have_text("0:02")
    card(page, "clip.mp4").locator(".card-hit").click()
    video = page.locator("#preview video")
    expect(video).to_be_visible()
    page.wait_for_function("v => v.readyState >= 1 && v.duration > 1.5", arg=video.element_handle())
    assert any(r.startswith("bytes=") for r in ranges), ranges


def test_music_tab_lists_the_system_library(
        new_page: Any, login: Any, key: str) -> None:
    page = new_page()
    login(page, key)
    expect(page.locator("#state")).to_contain_text("Your library is empty")  # system assets apart
    page.get_by_role("tab", name="Music").click()
    row = cards(page).filter(has_text=TONE_NAME)
    expect(row).to_have_count(1, timeout=30_000)
    expect(row.locator(".card-delete")).to_have_count(0)
    expect(row.get_by_role("button", name=f"Play {TONE_NAME}")).to_be_enabled()
    row.locator(".card-hit").click()
    dialog = page.get_by_role("dialog", name=TONE_NAME)
    expect(dialog.locator("audio")).to_have_count(1)
    expect(dialog.locator("canvas.waveform.ready")).to_have_count(1)
    expect(dialog.get_by_role("button", name="Delete")).to_be_hidden()
    expect(dialog.locator("#preview-meta")).to_contain_text("System library")


def test_phone_width_has_two_columns_and_no_sideways_scroll(
        new_page: Any, login: Any, key: str, add_asset: Any, tmp_path: Path) -> None:
    for i in range(3):
        add_asset(samples.png(tmp_path / f"p{i}.png"))
    page = new_page(390, 844, is_mobile=True, has_touch=True, device_scale_factor=2)
    login(page, key)
    expect(cards(page)).to_have_count(3)
    columns = page.eval_on_selector("#grid", "g => getComputedStyle(g).gridTemplateColumns")
    assert len(columns.split()) == 2, columns
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    expect(cards(page).first.locator(".card-delete")).to_be_visible()  # no hover on touch


def test_a_large_upload_survives_going_offline(
        new_page: Any, login: Any, key: str, web_server: Server, tmp_path: Path) -> None:
    """Resumable (tus-js-client) above 16 MB; offline mid-upload (CDP), then back."""
    path = noise_png(tmp_path / "big noise.png", 2600)  # ~20 MB: past the page's 16 MB
    data = path.read_bytes()
    page = new_page()
    failed: list[str] = []
    page.on("requestfailed", lambda req: failed.append(f"{req.method} {req.url}"))
    login(page, key)
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.emulateNetworkConditions", {  # ~6 MB/s up: the upload takes seconds
        "offline": False, "latency": 5, "downloadThroughput": -1,
        "uploadThroughput": 6 * 2**20})
    with page.expect_file_chooser() as chooser:
        page.get_by_role("button", name="Upload").click()
    chooser.value.set_files(str(path))
    row = page.locator(".upload", has_text="big noise.png")
    bar = row.locator(".progress")
    page.wait_for_function("bar => Number(bar.getAttribute('aria-valuenow')) >= 20",
                           arg=bar.element_handle(), timeout=30_000)
    cdp.send("Network.emulateNetworkConditions", {
        "offline": True, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1})
    time.sleep(3)
    expect(row).to_have_attribute("data-state", "uploading")  # waiting, not failed
    cdp.send("Network.emulateNetworkConditions", {
        "offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1})
    expect(row).to_have_attribute("data-state", "ready", timeout=60_000)
    assert any("/v1/uploads" in f for f in failed), failed  # the cut did hit the upload
    with web_server.client(key) as client:
        listed = client.get("/v1/assets").json()
        (asset,) = [a for a in listed if a["name"] == "big noise.png"]
        done = wait_for(client, asset["id"])
    assert done["sha256"] == hashlib.sha256(data).hexdigest()
    assert done["sizeBytes"] == len(data)

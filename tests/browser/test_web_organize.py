"""The web page's find-and-organize tools in headless Chromium, against the real server: the
search box, sort, tag chips (filter and edit), rename in place, multi-select with bulk delete and
tag, the trash with restore, and search in the Music tab."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from playwright.sync_api import expect

from tests.browser.conftest import CALM_NAME, TONE_NAME
from tests.support import samples
from tests.support.server import Server, upload, wait_for

pytestmark = pytest.mark.browser


def cards(page: Any) -> Any:
    return page.locator("#grid > li[data-id]")


def card(page: Any, name: str) -> Any:
    exact = re.compile(f"^{re.escape(name)}$")
    return cards(page).filter(has=page.locator(".card-name", has_text=exact))


def names(page: Any) -> list[str]:
    return [str(n) for n in cards(page).locator(".card-name").all_inner_texts()]


def route(page: Any) -> dict[str, list[str]]:
    """The page's address after #/view?…, parsed."""
    fragment = urlsplit(page.url).fragment
    return parse_qs(fragment.partition("?")[2])


def add_many(server: Server, key: str, tmp_path: Path,
             specs: list[tuple[str, str]]) -> list[dict[str, Any]]:
    """Uploads (name, comma-separated tags) as small distinct PNGs, then waits for all of them."""
    with server.client(key) as c:
        made = []
        for i, (name, tags) in enumerate(specs):
            path = samples.png(tmp_path / f"f{i}.png", color=(20 + 37 * i % 230, 90, 200 - 11 * i))
            fields = {"name": name, **({"tags": tags} if tags else {})}
            made.append(upload(c, path, **fields))
        return [wait_for(c, a["id"]) for a in made]


def test_search_is_debounced_kept_in_the_address_and_sorts(
        new_page: Any, login: Any, web_server: Server, key: str, tmp_path: Path) -> None:
    add_many(web_server, key, tmp_path, [
        ("Beach sunset.png", ""), ("Café Terrace.png", ""), ("beachfront walk.png", ""),
        ("Mountain lake.png", "")])
    page = new_page()
    login(page, key)
    expect(cards(page)).to_have_count(4)

    searches: list[str] = []
    page.on("request", lambda r: searches.append(r.url)
            if "/v1/assets?" in r.url and "q=" in r.url else None)
    box = page.get_by_role("searchbox", name="Search")
    box.press_sequentially("beach", delay=40)  # one request for the whole word, not one a key
    expect(cards(page)).to_have_count(2)
    assert route(page)["q"] == ["beach"]
    page.wait_for_timeout(400)
    assert len(searches) == 1, searches
    expect(page.locator("#count")).to_have_text("2 assets")

    page.get_by_label("Sort").select_option("name")
    expect(cards(page).first.locator(".card-name")).to_have_text("Beach sunset.png")
    assert names(page) == ["Beach sunset.png", "beachfront walk.png"]
    page.get_by_label("Sort").select_option("-name")
    expect(cards(page).first.locator(".card-name")).to_have_text("beachfront walk.png")
    assert route(page) == {"q": ["beach"], "sort": ["-name"]}

    page.reload()  # the address brings the search and the sort back
    expect(page.get_by_role("searchbox", name="Search")).to_have_value("beach")
    expect(page.get_by_label("Sort")).to_have_value("-name")
    expect(cards(page)).to_have_count(2)

    box = page.get_by_role("searchbox", name="Search")
    box.fill("cafe")  # accents don't matter
    expect(cards(page)).to_have_count(1)
    expect(cards(page).first.locator(".card-name")).to_have_text("Café Terrace.png")
    box.fill("zebra")
    expect(page.locator("#state")).to_contain_text("Nothing matches “zebra”")
    expect(page.locator("#count")).to_have_text("0 assets")
    page.get_by_role("button", name="Clear search").click()
    expect(cards(page)).to_have_count(4)
    expect(box).to_have_value("")

    page.goto(web_server.url + "/#/library?tag=" + "x" * 65)  # a tag the server refuses
    expect(page.locator("#state")).to_contain_text("Parameter 'tag' must be 1 to 64")
    page.get_by_role("button", name="Clear search").click()
    expect(cards(page)).to_have_count(4)


def test_tag_chips_filter_and_the_preview_edits_tags(
        new_page: Any, login: Any, web_server: Server, key: str, tmp_path: Path) -> None:
    sea, _, _ = add_many(web_server, key, tmp_path, [
        ("Waves.png", "sea,sky"), ("Clouds.png", "sky"), ("Street.png", "")])
    page = new_page()
    login(page, key)
    expect(cards(page)).to_have_count(3)

    card(page, "Waves.png").get_by_role("button", name="Filter by tag sky").click()
    expect(cards(page)).to_have_count(2)
    assert route(page)["tag"] == ["sky"]
    card(page, "Waves.png").get_by_role("button", name="Filter by tag sea").click()
    expect(cards(page)).to_have_count(1)  # all the tags must match
    assert route(page)["tag"] == ["sky", "sea"]
    page.get_by_role("button", name="Remove tag filter sky").click()
    expect(cards(page)).to_have_count(1)
    page.get_by_role("button", name="Remove tag filter sea").click()
    expect(cards(page)).to_have_count(3)
    expect(page.locator("#tag-filters")).to_be_hidden()

    card(page, "Waves.png").locator(".card-hit").click()
    dialog = page.get_by_role("dialog", name="Waves.png")
    field = dialog.get_by_label("Add a tag")
    field.fill("  Golden Hour ")
    field.press("Enter")
    expect(dialog.get_by_role("button", name="Remove tag golden hour")).to_be_visible()
    expect(field).to_have_value("")
    dialog.get_by_role("button", name="Remove tag sky").click()
    expect(dialog.get_by_role("button", name="Remove tag sky")).to_have_count(0)
    field.fill("tab\there")  # the server refuses control characters: its message is shown
    field.press("Enter")
    expect(dialog.locator("#tags-error")).to_contain_text("control characters")
    expect(field).to_have_value("tab\there")
    with web_server.client(key) as c:
        assert sorted(c.get(f"/v1/assets/{sea['id']}").json()["tags"]) == ["golden hour", "sea"]
    page.keyboard.press("Escape")
    chip = card(page, "Waves.png").get_by_role("button", name="Filter by tag golden hour")
    expect(chip).to_be_visible()


def test_rename_in_place_saves_on_enter_and_cancels_on_escape(
        new_page: Any, login: Any, web_server: Server, key: str, tmp_path: Path) -> None:
    (clip,) = add_many(web_server, key, tmp_path, [("IMG_0042.png", "")])
    page = new_page()
    login(page, key)
    card(page, "IMG_0042.png").locator(".card-hit").focus()
    page.keyboard.press("F2")  # opens the preview with the name ready to edit
    dialog = page.locator("#preview")
    field = dialog.get_by_label("New name")
    expect(field).to_be_focused()
    field.fill("   ")
    field.press("Enter")
    expect(dialog.locator("#rename-error")).to_have_text("A name can't be empty.")
    field.fill("bad\tname")  # the server refuses control characters: its message is shown
    field.press("Enter")
    expect(dialog.locator("#rename-error")).not_to_have_text("A name can't be empty.")
    expect(dialog.locator("#rename-error")).not_to_be_empty()
    expect(field).to_be_enabled()  # the refusal came back
    expect(field).to_be_visible()
    field.press("Escape")  # cancels the edit, keeps the dialog
    expect(field).to_have_count(0)
    expect(dialog).to_be_visible()
    expect(page.locator("#preview-title")).to_have_text("IMG_0042.png")

    dialog.get_by_role("button", name="Rename").click()
    field.fill("Sunrise over the bay ☀")
    field.press("Enter")
    expect(page.locator("#preview-title")).to_have_text("Sunrise over the bay ☀")
    expect(dialog.get_by_role("button", name="Rename")).to_be_focused()

    original = (tmp_path / "f0.png").read_bytes()
    with page.expect_download() as download:
        dialog.get_by_role("link", name="Download").click()
    assert Path(download.value.path()).read_bytes() == original
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    dialog.get_by_role("button", name="Copy URL").click()
    expect(page.locator("#toasts")).to_contain_text("File URL copied")
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied.startswith(web_server.url + "/files/")
    assert httpx.get(copied).content == original  # works without the key
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(card(page, "Sunrise over the bay ☀")).to_have_count(1)
    card(page, "Sunrise over the bay ☀").get_by_role("button", name="Delete").click()
    page.locator("#confirm").get_by_role("button", name="Delete").click()
    expect(cards(page)).to_have_count(0)
    page.locator("#toasts").get_by_role("button", name="Undo").click()  # the delete, taken back
    expect(card(page, "Sunrise over the bay ☀")).to_have_count(1)
    with web_server.client(key) as c:
        assert c.get(f"/v1/assets/{clip['id']}").json()["name"] == "Sunrise over the bay ☀"


def test_multi_select_deletes_and_tags_the_selection_then_trash_restores(
        new_page: Any, login: Any, web_server: Server, key: str, tmp_path: Path) -> None:
    made = add_many(web_server, key, tmp_path, [(f"shot-{i}.png", "") for i in range(5)])
    page = new_page()
    login(page, key)
    expect(cards(page)).to_have_count(5)
    shown = names(page)  # newest first: shot-4 … shot-0

    cards(page).nth(0).get_by_role("checkbox").click()
    cards(page).nth(2).get_by_role("checkbox").click(modifiers=["Shift"])  # a range of three
    expect(page.locator("#bulk-count")).to_have_text("3 selected")
    expect(page.locator("#grid > li.selected")).to_have_count(3)
    page.get_by_role("button", name="Delete", exact=True).click()
    confirm = page.get_by_role("dialog", name="Delete 3 assets?")
    confirm.get_by_role("button", name="Delete").click()
    expect(cards(page)).to_have_count(2)
    assert names(page) == shown[3:]
    expect(page.locator("#bulk-actions")).to_be_hidden()

    page.get_by_label("Select all on this page").check()
    expect(page.locator("#bulk-count")).to_have_text("2 selected")
    page.get_by_role("button", name="Tag…").click()
    tag_dialog = page.get_by_role("dialog", name="Tag 2 assets")
    tag_dialog.get_by_label("Add tags").fill("Keep, b-roll")
    tag_dialog.get_by_label("Add tags").press("Enter")  # Enter applies, as the button does
    expect(tag_dialog).to_be_hidden()
    expect(page.locator("#grid .chip", has_text="b-roll")).to_have_count(2)
    page.keyboard.press("Escape")  # clears the selection
    expect(page.locator("#bulk-count")).to_have_text("")
    cards(page).first.locator(".card-hit").focus()
    page.keyboard.press("x")  # the keyboard selects too
    expect(page.locator("#bulk-count")).to_have_text("1 selected")
    page.keyboard.press("Escape")
    expect(page.locator("#bulk-count")).to_have_text("")

    page.get_by_role("tab", name="Trash").click()
    rows = cards(page)
    expect(rows).to_have_count(3)
    expect(page.locator("#count")).to_have_text("3 assets in the trash")
    expect(rows.first).to_contain_text("purged")
    restored = shown[1]
    rows.filter(has_text=restored).get_by_role("button", name=f"Restore {restored}").click()
    expect(rows).to_have_count(2)
    expect(page.get_by_role("button", name=re.compile("^Restore "))).to_have_count(2)
    page.get_by_role("tab", name="Library").click()
    expect(card(page, restored)).to_have_count(1)
    with web_server.client(key) as c:
        by_name = {a["name"]: a for a in made}
        assert c.get(f"/v1/assets/{by_name[restored]['id']}").status_code == 200
        assert c.get(f"/v1/assets/{by_name[shown[0]]['id']}").status_code == 404


def test_music_tab_search_and_phone_layout(new_page: Any, login: Any, key: str) -> None:
    page = new_page(390, 844, is_mobile=True, has_touch=True, device_scale_factor=2)
    login(page, key)
    page.get_by_role("tab", name="Music").click()
    expect(cards(page)).to_have_count(2, timeout=30_000)
    box = page.get_by_role("searchbox", name="Search")
    expect(box).to_have_attribute("placeholder", re.compile("mood", re.I))
    box.fill("WAVE")
    expect(cards(page)).to_have_count(1)
    expect(cards(page).first).to_contain_text(CALM_NAME)
    assert route(page)["q"] == ["WAVE"]
    box.fill("tone")
    expect(cards(page).first).to_contain_text(TONE_NAME)
    box.fill("")
    expect(cards(page)).to_have_count(2)
    moods = page.get_by_role("group", name="Moods and genres")  # the tracks' tags, one click
    expect(moods.get_by_role("button")).to_have_text(["ambient", "bright", "calm", "electronic"])
    moods.get_by_role("button", name="Filter by tag calm").click()
    expect(cards(page)).to_have_count(1)
    expect(cards(page).first).to_contain_text(CALM_NAME)
    assert route(page)["tag"] == ["calm"]
    box.fill("nothing-like-it")
    expect(page.locator("#state")).to_contain_text("Nothing matches")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.get_by_role("tab", name="Trash").click()
    expect(page.locator("#state")).to_contain_text("The trash is empty")
    expect(box).to_be_hidden()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390

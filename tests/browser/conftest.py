"""Browser fixtures: Debian's Chromium driven by Playwright against a real `mediashelf serve`."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from mediashelf.domain import AssetType
from mediashelf.services.system_library import SystemLibrary
from tests.support import samples
from tests.support.server import Server, upload, wait_for

CHROMIUM = Path(os.environ.get("MEDIASHELF_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
TONE_NAME = "Test Tone"
CALM_NAME = "Calm Waves"


@pytest.fixture(scope="session")
def web_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server of its own (the tests add to the system library), with two system tracks;
    shared by the browser modules, each test a tenant of its own."""
    root = tmp_path_factory.mktemp("web")
    srv = Server(root / "data").start()
    library = SystemLibrary(srv.services.db, srv.services.assets)  # as `system import` does
    for name, seconds, tags in [(TONE_NAME, 2.0, ["bright", "electronic"]),
                                (CALM_NAME, 1.0, ["ambient", "calm"])]:
        track = samples.mp3(root / f"{tags[1]}.mp3", seconds=seconds)
        library.import_file(track, AssetType.AUDIO, name, tags=tags)
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: run scripts/install-chromium (Debian's chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def key(web_server: Server) -> str:
    """A fresh tenant per test, so each one starts from an empty library."""
    return web_server.new_key(f"web-{uuid.uuid4().hex[:8]}")


@pytest.fixture
def new_page(browser: Any) -> Iterator[Callable[..., Any]]:
    """Open pages in fresh contexts; any uncaught script error fails the test."""
    contexts: list[Any] = []
    errors: list[str] = []

    def make(width: int = 1280, height: int = 860, **kwargs: Any) -> Any:
        ctx = browser.new_context(viewport={"width": width, "height": height}, **kwargs)
        ctx.set_default_timeout(15_000)
        contexts.append(ctx)
        page = ctx.new_page()
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        return page

    yield make
    for ctx in contexts:
        ctx.close()
    assert not errors, f"script errors on the page: {errors}"


@pytest.fixture
def add_asset(web_server: Server, key: str) -> Callable[..., dict[str, Any]]:
    """Upload a file through the API and wait until it is READY."""

    def add(path: Path, **fields: str) -> dict[str, Any]:
        with web_server.client(key) as c:
            body = upload(c, path, **fields)
            done = wait_for(c, body["id"])
        assert done["status"] == "READY", done
        return done

    return add


@pytest.fixture
def login(web_server: Server) -> Callable[[Any, str], None]:
    """Open the page, paste the key, and wait for the library to finish loading."""
    return lambda page, key: _login(page, web_server.url, key)


def _login(page: Any, url: str, key: str) -> None:
    page.goto(url + "/")
    page.get_by_label("API key").fill(key)
    page.get_by_role("button", name="Open library").click()
    page.locator("#app").wait_for(state="visible")
    page.wait_for_function("document.querySelector('#grid').getAttribute('aria-busy') === 'false'")

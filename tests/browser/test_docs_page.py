"""/docs in headless Chromium with every other site out of reach: the page lists the API's
operations from files the server itself serves."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from tests.support.server import Server

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def docs_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = Server(tmp_path_factory.mktemp("docs") / "data", args=("--no-worker",)).start()
    yield srv
    srv.stop()


def test_the_docs_work_offline(new_page: Any, docs_server: Server) -> None:
    page = new_page()
    ours = urlsplit(docs_server.url).netloc
    elsewhere: list[str] = []

    def only_ours(route: Any) -> None:
        url = route.request.url
        if urlsplit(url).netloc == ours or url.startswith(("data:", "blob:")):
            route.continue_()
        else:
            elsewhere.append(url)
            route.abort()

    page.context.route("**/*", only_ours)
    page.goto(docs_server.url + "/docs")
    expect(page.locator(".opblock-summary-path").first).to_be_visible()
    paths = set(page.locator(".opblock-summary-path").all_inner_texts())
    assert {"/v1/assets", "/v1/assets/{asset_id}", "/healthz"} <= {
        p.replace("\u200b", "") for p in paths}
    expect(page.locator(".opblock-tag-section h3").first).to_be_visible()
    tags = page.locator(".opblock-tag").all_inner_texts()
    assert any(t.startswith("assets") for t in tags), tags

    # Try it out, with a key given once in Authorize: the page calls this server.
    key = docs_server.new_key("docs")
    page.get_by_role("button", name="Authorize").first.click()
    scheme = page.locator("form").filter(has_text=re.compile(r"ApiKeyAuth\s*\(apiKey\)"))
    scheme.locator("input").fill(key)
    scheme.get_by_role("button", name="Apply credentials").click()
    scheme.get_by_role("button", name="Close").click()
    listing = page.locator("#operations-assets-listAssets")
    listing.locator(".opblock-summary").click()
    listing.get_by_role("button", name="Try it out").click()
    listing.get_by_role("button", name="Execute").click()
    expect(listing.locator(".live-responses-table tbody .response-col_status").first).to_have_text(
        "200")
    assert not elsewhere, f"the page asked other sites for {elsewhere}"

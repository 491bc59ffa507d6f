"""Numbers clients send are ASCII digits: "²" and "١٢٣" pass str.isdigit(), and int("²") fails."""

from __future__ import annotations

import httpx
import pytest
from tests.support.multipart import assert_error
from tests.support.server import Server


@pytest.mark.parametrize("exp", ["²", "١٢٣", "9999999999²"])
def test_a_file_link_with_odd_digits_is_forbidden(server: Server, exp: str) -> None:
    res = httpx.get(server.url + "/files/assets/x/original", params={"exp": exp, "sig": "x"})
    assert_error(res, 403, "signature")


@pytest.mark.parametrize("port", ["²", "١٢٣"])
def test_an_import_url_with_odd_port_digits_is_refused(client: httpx.Client, port: str) -> None:
    res = client.post("/v1/assets", json={"name": "n", "type": "IMAGE",
                                          "url": f"https://example.com:{port}/a.png"})
    assert_error(res, 400, "port")

"""Every spelling of one listing gets one reply from the real server with its caches off, so the
reply cache may key them alike; any query string gets a page or a 400 {code, message}."""

from __future__ import annotations

import json
from collections.abc import Callable
from urllib.parse import urlencode

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.support.library import insert, make_asset, tenant_id_of
from tests.support.queries import Selection, selections, spellings
from tests.support.server import Server

from mediashelf.domain import SYSTEM_TENANT_ID, AssetStatus, AssetType, now_ms

PAGINATION = ("X-Total-Count", "X-Page", "X-Page-Size", "X-Total-Pages")
slow = settings(max_examples=15, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])


def test_spellings_of_one_listing_get_one_reply(make_server: Callable[..., Server]) -> None:
    srv = make_server({"MEDIASHELF_LIST_CACHE": "0"})  # every reply made afresh
    key = srv.new_key("spellings")
    tenant = tenant_id_of(srv.services, key)
    base = now_ms() - 1_000_000
    kinds = [(t, s) for t in AssetType for s in AssetStatus]
    insert(srv.services, [make_asset(tenant, *kinds[i % len(kinds)], base + i * 1000)
                          for i in range(60)])
    insert(srv.services, [make_asset(SYSTEM_TENANT_ID, AssetType.AUDIO, AssetStatus.READY,
                                     base + i * 1000 + 1, f"music {i}") for i in range(5)])

    def reply(client: httpx.Client, query: str) -> tuple[str, tuple[str, ...]]:
        res = client.get("/v1/assets?" + query)
        assert res.status_code == 200, res.text
        body = res.text
        if srv.backend.endswith("-s3"):  # S3 presigns with the second it signs at
            items = res.json()
            for item in items:
                for link in ("fileUrl", "thumbnailUrl"):
                    item[link] = item[link] and item[link].split("?")[0]
            body = json.dumps(items)
        return body, tuple(res.headers[h] for h in PAGINATION)

    with srv.client(key) as client:
        @slow
        @given(selection=selections)
        def one_reply(selection: Selection) -> None:
            # pages past the first few are empty alike: keep most of them within the library
            types, statuses, scope, page, size, rnd = selection
            selection = (types, statuses, scope, min(page, 3), size, rnd)
            assert len({reply(client, q) for q in spellings(selection)}) == 1

        one_reply()


def test_any_query_string_gets_a_page_or_a_400(server: Server, api_key: str) -> None:
    names = st.sampled_from(["type", "status", "scope", "page", "pageSize", "x"])
    values = st.one_of(st.sampled_from(["IMAGE", "READY,FAILED", "mine", "2", "0", ""]),
                       st.text(max_size=10))

    with server.client(api_key) as client:
        @slow
        @given(pairs=st.lists(st.tuples(names, values), max_size=5))
        def answered(pairs: list[tuple[str, str]]) -> None:
            res = client.get("/v1/assets?" + urlencode(pairs))
            if res.status_code == 200:
                assert isinstance(res.json(), list) and "X-Total-Count" in res.headers
                return
            assert res.status_code == 400
            body = res.json()
            assert set(body) == {"code", "message"} and body["code"] == 400
            assert "allowed values are" in body["message"]

        answered()

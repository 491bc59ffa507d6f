"""When the database goes away, answers are a clear 503, never a 500 or a hang."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
from tests.support import backends
from tests.support.server import Server


def test_database_gone_answers_503(make_server: Callable[..., Server]) -> None:
    srv = make_server()
    if srv.backend != "postgres-s3":
        pytest.skip("a shared PostgreSQL database can be taken away mid-run; a SQLite file can't")
    key = srv.new_key("outage")
    name = srv.env["MEDIASHELF_DATABASE_URL"].rsplit("/", 1)[-1]
    with backends._admin() as conn:
        conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
    res = httpx.get(srv.url + "/v1/assets", headers={"x-api-key": key}, timeout=30)
    assert res.status_code == 503
    assert res.json() == {"code": 503, "message": "the database is unavailable; try again shortly"}
    ready = httpx.get(srv.url + "/readyz", timeout=30)
    assert ready.status_code == 503 and ready.json()["message"] == "database unreachable"
    assert httpx.get(srv.url + "/healthz").status_code == 200


def test_lost_database_connections_are_replaced(make_server: Callable[..., Server]) -> None:
    """A PostgreSQL restart (here: every connection of the server killed) costs no request."""
    srv = make_server()
    if srv.backend != "postgres-s3":
        pytest.skip("SQLite has no connections to lose")
    key = srv.new_key("reconnect")
    with srv.client(key) as c:
        assert c.get("/v1/assets").status_code == 200
        assert c.get("/v1/assets", params={"status": "FAILED"}).status_code == 200
        name = srv.env["MEDIASHELF_DATABASE_URL"].rsplit("/", 1)[-1]
        with backends._admin() as conn:
            killed = conn.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = %s AND application_name = 'mediashelf'", (name,)).fetchone()
        assert killed is not None and killed[0] >= 1
        for params in ({}, {"status": "PROCESSING"}, {"type": "AUDIO"}):
            res = c.get("/v1/assets", params=params)
            assert res.status_code == 200, res.text
        assert c.get("/v1/assets/00000000-0000-7000-8000-000000000001").status_code == 404

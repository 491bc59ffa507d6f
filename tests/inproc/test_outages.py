"""When the database goes away, answers are a clear 503, never a 500 or a hang."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.support import backends
from tests.support.backends import Backend
from tests.support.inproc import InProcess


def _database_name(app: InProcess) -> str:
    return app.settings.database_url.rsplit("/", 1)[-1]


def test_database_gone_answers_503(backend: Backend,
                                   make_app: Callable[..., InProcess]) -> None:
    if not backend.is_postgres:
        pytest.skip("a shared PostgreSQL database can be taken away mid-run; a SQLite file can't")
    app = make_app()
    key = app.new_key("outage")
    with backends._admin() as conn:
        conn.execute(f'DROP DATABASE "{_database_name(app)}" WITH (FORCE)')
    with app.client(key) as client:
        res = client.get("/v1/assets")
        assert res.status_code == 503
        assert res.json() == {"code": 503,
                              "message": "the database is unavailable; try again shortly"}
        ready = client.get("/readyz")
        assert ready.status_code == 503 and ready.json()["message"] == "database unreachable"
        assert res.headers["Retry-After"] == ready.headers["Retry-After"] == "5"  # as documented
        assert client.get("/healthz").status_code == 200


def test_lost_database_connections_are_replaced(backend: Backend,
                                                make_app: Callable[..., InProcess]) -> None:
    """A PostgreSQL restart (here: every connection of the app killed) costs no request."""
    if not backend.is_postgres:
        pytest.skip("SQLite has no connections to lose")
    app = make_app()
    with app.client(app.new_key("reconnect")) as c:
        assert c.get("/v1/assets").status_code == 200
        assert c.get("/v1/assets", params={"status": "FAILED"}).status_code == 200
        with backends._admin() as conn:
            killed = conn.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = %s AND application_name = 'mediashelf'",
                (_database_name(app),)).fetchone()
        assert killed is not None and killed[0] >= 1
        for params in ({}, {"status": "PROCESSING"}, {"type": "AUDIO"}):
            res = c.get("/v1/assets", params=params)
            assert res.status_code == 200, res.text
        assert c.get("/v1/assets/00000000-0000-7000-8000-000000000001").status_code == 404

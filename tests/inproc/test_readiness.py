"""/readyz and /metrics on the queue and its workers, and request metrics by route, in-process."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path

import httpx
from prometheus_client import REGISTRY

from mediashelf.app import build_services
from mediashelf.db.workers import WorkerRepository
from mediashelf.domain import now_ms
from tests.support.inproc import Api, InProcess
from tests.support.scrape import sample
from tests.support.server import upload, wait_for


def _beat(app: InProcess, name: str, at_ms: int) -> None:
    with app.services.db.write() as conn:
        WorkerRepository().beat(conn, name, at_ms, 1)


def test_ready_follows_the_queue_and_the_workers(make_app: Callable[..., InProcess],
                                                 media: dict[str, Path]) -> None:
    app = make_app(run_worker=False)  # `serve --no-worker`
    stale = app.settings.worker_stale_after
    with app.client(app.new_key("ready")) as c:
        ready = c.get("/readyz")
        assert ready.status_code == 200, ready.text  # nothing waits: no worker needed
        assert ready.json()["workers"] == {"live": 0, "staleAfterSeconds": stale}
        asset = upload(c, media["png"])
        ready = c.get("/readyz")
        assert ready.status_code == 503 and ready.headers["retry-after"] == "5"
        body = ready.json()
        assert body["code"] == 503 and body["status"] == "not ready"
        assert body["message"] == ("1 job waits and no worker is alive (none has sent a "
                                   f"heartbeat in the last {stale:g} s)")
        assert body["queue"]["queued"] == 1 and body["queue"]["running"] == 0
        assert body["database"] == body["storage"] == "ok"
        lenient = c.get("/readyz", params={"workers": "ignore"})  # for a load balancer
        assert lenient.status_code == 200 and lenient.json()["queue"]["queued"] == 1
        bad = c.get("/readyz", params={"workers": "maybe"})
        assert bad.status_code == 400 and bad.json() == {
            "code": 400, "message": "invalid value 'maybe' for parameter 'workers': allowed "
                                    "values are require, ignore"}
        page = c.get("/metrics").text
        assert sample(page, "mediashelf_queue_jobs", kind="process", state="queued") == 1.0
        assert sample(page, "mediashelf_queue_jobs", kind="import", state="queued") == 0.0
        assert sample(page, "mediashelf_workers_live") == 0.0

        # A worker that stopped beating longer ago than the window is no worker.
        _beat(app, f"gone-{uuid.uuid4().hex[:6]}", now_ms() - int(stale * 1000) - 1000)
        assert c.get("/readyz").status_code == 503

        # A real worker (as `mediashelf worker` runs it) on the same library: ready at once.
        services = build_services(app.settings, with_worker=True)
        try:
            services.worker.start()
            ready = c.get("/readyz")
            assert ready.status_code == 200, ready.text
            assert ready.json()["workers"]["live"] == 1
            assert wait_for(c, asset["id"])["status"] == "READY"
            assert sample(c.get("/metrics").text, "mediashelf_workers_live") == 1.0
        finally:
            services.close()
        ready = c.get("/readyz")  # its clean stop took its heartbeat away; nothing waits
        assert ready.status_code == 200 and ready.json()["workers"]["live"] == 0
        assert ready.json()["queue"] == {"queued": 0, "running": 0, "oldestQueuedSeconds": 0.0}


def test_the_embedded_worker_is_ready_from_the_start(make_app: Callable[..., InProcess]) -> None:
    app = make_app()  # `serve`: the API and its worker in one process
    with app.client() as c:
        ready = c.get("/readyz")
        assert ready.status_code == 200 and ready.json()["workers"]["live"] == 1


def _count(method: str, route: str, status: str) -> float:
    return REGISTRY.get_sample_value("mediashelf_http_requests_total",
                                     {"method": method, "route": route, "status": status}) or 0.0


def test_requests_are_counted_by_route_template(api: Api, client: httpx.Client) -> None:
    missing = str(uuid.uuid4())
    before = (_count("GET", "/v1/assets/{asset_id}", "404"), _count("other", "unmatched", "404"),
              _count("GET", "/v1/assets", "200"))
    assert client.get(f"/v1/assets/{missing}").status_code == 404
    assert client.get(f"/v1/assets/{missing}").status_code == 404
    assert client.request("BREW", f"/coffee/{missing}").status_code == 404
    assert client.get("/v1/assets").status_code == 200
    after = (_count("GET", "/v1/assets/{asset_id}", "404"), _count("other", "unmatched", "404"),
             _count("GET", "/v1/assets", "200"))
    assert [a - b for a, b in zip(after, before, strict=True)] == [2.0, 1.0, 1.0]
    page = client.get("/metrics").text
    assert missing not in page and "BREW" not in page  # no series per id or made-up method


def test_openapi_documents_the_operations_routes(api: Api) -> None:
    with api.client() as anonymous:
        doc = anonymous.get("/openapi.json").json()
    ready = doc["paths"]["/readyz"]["get"]
    assert ready["security"] == [] and {"200", "400", "503"} <= set(ready["responses"])
    assert ready["parameters"][0]["schema"]["enum"] == ["require", "ignore"]
    assert set(doc["components"]["schemas"]["Readiness"]["properties"]) >= {
        "space", "freeBytes", "workers", "queue"}
    assert "text/plain" in doc["paths"]["/metrics"]["get"]["responses"]["200"]["content"]

"""Observability over real processes: `serve --workers 2` reports the sum of both processes'
counters whichever answers a scrape, /readyz fails while jobs wait with no worker and recovers
when `mediashelf worker` runs, the worker's own port answers, and JSON logs parse line by line.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from tests.support.procs import both_listening, connections_by_process
from tests.support.scrape import json_lines, sample
from tests.support.server import Server, free_port, upload, wait_for
from tests.support.waiting import wait_until

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")

MediaFiles = dict[str, Path]


def _ready(srv: Server) -> httpx.Response:
    return httpx.get(srv.url + "/readyz", timeout=30)


def test_two_api_processes_one_worker(make_server: Callable[..., Server],
                                      media: MediaFiles) -> None:
    srv = make_server(env={"MEDIASHELF_LOG_FORMAT": "json"}, args=("--no-worker", "--workers", "2"))
    key = srv.new_key("obs")
    pids = both_listening(srv)
    shared = dict(line.split("=", 1) for line in Path(f"/proc/{pids[0]}/environ").read_text()
                  .split("\0") if line.startswith("PROMETHEUS_MULTIPROC_DIR="))
    folder = Path(shared["PROMETHEUS_MULTIPROC_DIR"])
    assert folder.is_dir()

    # 16 connections at once, one listing each: both processes take some of them.
    clients = [httpx.Client(base_url=srv.url, headers={"x-api-key": key}, timeout=30)
               for _ in range(16)]
    try:
        for c in clients:
            assert c.get("/v1/assets").status_code == 200
        held = connections_by_process(pids, srv.port)
        assert sum(held.values()) == 16 and min(held.values()) >= 1, held
    finally:
        for c in clients:
            c.close()
    # 16 scrapes on 16 connections, spread over both processes: every one sees all 16 listings.
    scrapers = [httpx.Client(base_url=srv.url, timeout=30) for _ in range(16)]
    try:
        pages = [c.get("/metrics").text for c in scrapers]
        held = connections_by_process(pids, srv.port)
        assert min(held.values()) >= 1, held
    finally:
        for c in scrapers:
            c.close()
    for page in pages:
        assert sample(page, "mediashelf_http_requests_total", method="GET",
                      route="/v1/assets", status="200") == 16.0
        assert sample(page, "mediashelf_workers_live") == 0.0

    # No worker and nothing queued: ready. Something queued: not ready, and it says why.
    ready = _ready(srv)
    assert ready.status_code == 200, ready.text
    assert ready.json()["workers"]["live"] == 0 and ready.json()["queue"]["queued"] == 0
    with srv.client(key) as c:
        asset = upload(c, media["png"])
    ready = _ready(srv)
    assert ready.status_code == 503, ready.text
    body = ready.json()
    assert body["code"] == 503 and "no worker is alive" in body["message"]
    assert body["queue"]["queued"] == 1 and body["workers"]["live"] == 0
    assert body["space"] in ("ok", "low")  # the fields of a ready answer are all there
    page = httpx.get(srv.url + "/metrics").text
    assert sample(page, "mediashelf_queue_jobs", kind="process", state="queued") == 1.0
    assert (sample(page, "mediashelf_queue_oldest_age_seconds", kind="process") or 0) >= 0.0

    # A worker alone, with its own port: the API turns ready and the job is done.
    port = free_port()
    worker_log = srv.data_dir.parent / "worker.log"
    with open(worker_log, "wb") as out:
        worker = subprocess.Popen([*srv.command, "worker", "--metrics-port", str(port)],
                                  env=srv.env, stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_until("the worker is seen", lambda: _ready(srv).status_code == 200)
        assert _ready(srv).json()["workers"]["live"] == 1
        with srv.client(key) as c:
            assert wait_for(c, asset["id"])["status"] == "READY"
        own = f"http://127.0.0.1:{port}"
        wait_until("the worker's port answers", lambda: _answers(own + "/healthz"))
        health = httpx.get(own + "/healthz")
        assert health.status_code == 200 and health.json()["status"] == "ok"
        assert httpx.get(own + "/nope").json() == {"code": 404, "message": "no route GET /nope"}
        page = httpx.get(own + "/metrics").text
        assert sample(page, "mediashelf_workers_live") == 1.0
        assert sample(page, "mediashelf_job_seconds_count", kind="process",
                      outcome="done") == 1.0
        assert sample(page, "mediashelf_queue_jobs", kind="process", state="queued") == 0.0
    finally:
        worker.send_signal(signal.SIGTERM)
        code = worker.wait(60)
    assert code == 0, worker_log.read_text()
    assert _ready(srv).json()["workers"]["live"] == 0  # a clean stop removes its heartbeat

    assert srv.stop() == 0
    assert not folder.exists()  # the private metrics folder goes with the server
    events = json_lines(srv.log_path)
    assert any(e["message"] == "serve.started" and e["processes"] == 2 for e in events)
    assert any(e["logger"] == "uvicorn.error" for e in events)
    events = json_lines(worker_log)
    finished = [e for e in events if e["message"] == "job.finished"]
    assert finished and finished[0]["asset_id"] == asset["id"]


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=5).status_code == 200
    except httpx.TransportError:
        return False


def _mediashelf(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "mediashelf", *args], capture_output=True,
                          text=True, timeout=60, env=env)


def test_settings_errors_taken_port_and_admin_commands(tmp_path: Path) -> None:
    import os
    import socket

    env = {**os.environ, "MEDIASHELF_DATA_DIR": str(tmp_path / "lib")}
    res = _mediashelf("worker", env={**env, "MEDIASHELF_LOG_FORMAT": "xml"})
    assert res.returncode == 2
    assert res.stderr.strip().splitlines() == [
        "error: MEDIASHELF_LOG_FORMAT: expected text or json"]
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        res = _mediashelf("worker", "--metrics-port", str(port), env=env)
    assert res.returncode == 1
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and "MEDIASHELF_WORKER_METRICS_PORT" in lines[0], res.stderr
    assert not (tmp_path / "lib").exists()  # refused before anything was created
    # An environment file shared with `serve` may name its metrics folder: admin commands,
    # which serve no metrics, ignore it (here it does not even exist).
    res = _mediashelf("keys", "create", "--tenant", "ops", "--init",
                      env={**env, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "gone")})
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip().splitlines()[-1].startswith("msk_")

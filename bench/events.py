"""How late GET /v1/events delivers: from an event's recording (its `timestamp`) to its arrival
on every open stream, with 1 and with 20 streams open on one API process, under a trickle of
small uploads. Reported beside the poll interval (MEDIASHELF_EVENT_POLL), the floor of the
design: each process reads new events once per interval for all its streams.

    .venv/bin/python -m bench.events --uploads 30 [--pg-url postgresql://postgres@127.0.0.1/x]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import tempfile
import threading
import time
from pathlib import Path

import httpx
from httpx_sse import connect_sse
from tests.support import samples
from tests.support.server import Server


def _ms(iso: str) -> float:
    return dt.datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp() * 1000


def run_case(server: Server, key: str, png: Path, streams: int, uploads: int) -> list[float]:
    delays: list[float] = []
    lock = threading.Lock()
    ready = threading.Barrier(streams + 1)
    want = uploads * 2  # created and ready (or failed) per upload

    def follow() -> None:
        with httpx.Client(base_url=server.url, timeout=60) as client, connect_sse(
                client, "GET", "/v1/events", headers={"x-api-key": key}) as source:
            ready.wait()
            for seen, event in enumerate(source.iter_sse(), start=1):
                arrived = time.time() * 1000
                with lock:
                    delays.append(arrived - _ms(json.loads(event.data)["timestamp"]))
                if seen == want:
                    return

    threads = [threading.Thread(target=follow, daemon=True) for _ in range(streams)]
    for t in threads:
        t.start()
    ready.wait()
    with server.client(key) as client:
        for _ in range(uploads):
            with open(png, "rb") as fh:
                res = client.post("/v1/assets", files={"file": ("b.png", fh)},
                                  data={"dedupe": "false"})
            assert res.status_code == 201, res.text
            time.sleep(0.05)  # about 20 uploads a second at most
    for t in threads:
        t.join(120)
    return delays


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--uploads", type=int, default=30)
    parser.add_argument("--pg-url", default="")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="bench-events-"))
    env = {"MEDIASHELF_DATABASE_URL": args.pg_url} if args.pg_url else {}
    server = Server(root / "data", env=env).start()
    try:
        png = samples.png(root / "b.png", size=(64, 48))
        poll_ms = server.services.settings.event_poll * 1000
        print(f"poll interval {poll_ms:.0f} ms, {args.uploads} uploads per case")
        for streams in (1, 20):
            key = server.new_key(f"bench-{streams}")
            delays = sorted(run_case(server, key, png, streams, args.uploads))
            p50 = statistics.median(delays)
            p99 = delays[min(len(delays) - 1, int(len(delays) * 0.99))]
            print(f"{streams:>2} streams: {len(delays)} deliveries, delay p50 {p50:.0f} ms "
                  f"({p50 / poll_ms:.2f} x poll), p99 {p99:.0f} ms ({p99 / poll_ms:.2f} x poll)")
    finally:
        server.stop()


if __name__ == "__main__":
    main()

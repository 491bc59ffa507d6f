"""Requests as real clients vary them, S3 against local storage, and reads under a steady write
stream; run by `python -m bench.run` for each backend and size (--skip browse,writes).

- Random browse: 3 tenants x 6 filter combinations x page sizes 20/50/100, uniformly random
  pages, seeded (a new seed each round, the same sequence for every target of that round): sent
  to the cached and the uncached server, to the uncached server on S3 storage (a moto server),
  and mapped to PocketBase's equivalent queries, all in the same rounds, with each server's
  /healthz and the uncached default list (local and S3) beside.
- Reads under writes: a writer uploads 10 small images a second through the API (the worker
  embedded, so each is processed to READY) while wrk reads the cached default listing (which
  every upload changes) and the cached VIDEO listing (which no upload changes); rounds with and
  without the writer alternate.
"""

from __future__ import annotations

import argparse
import io
import math
import os
import random
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from bench import fill as filler
from bench import pocketbase as pb
from bench.run import Peer, Server, free_port, median_round, start_server, wrk

# (our query, PocketBase's statuses and types): the six filter combinations
FILTERS: tuple[tuple[str, list[str], list[str] | None], ...] = (
    ("", ["READY"], None),
    ("type=VIDEO", ["READY"], ["VIDEO"]),
    ("type=IMAGE&type=VIDEO", ["READY"], ["IMAGE", "VIDEO"]),
    ("status=PROCESSING", ["PROCESSING"], None),
    ("type=AUDIO&status=READY&status=FAILED", ["READY", "FAILED"], ["AUDIO"]),
    ("status=READY&status=FAILED", ["READY", "FAILED"], None),
)
SIZES = (20, 50, 100)
SEQUENCE = 20_000  # requests a round's sequence holds (wrk sends them in turn, then again)
WRITES_PER_S = 10


def _totals(server: Server, lib: filler.Library) -> dict[tuple[str, int], int]:
    """Each tenant's match count per filter combination, as X-Total-Count says."""
    out = {}
    for tenant in filler.TENANTS:
        for i, (params, _s, _t) in enumerate(FILTERS):
            res = httpx.get(f"{server.url}/v1/assets?{params}",
                            headers={"x-api-key": lib.keys[tenant]}, timeout=120)
            out[(tenant, i)] = int(res.headers["X-Total-Count"])
    return out


def sequence(seed: int, totals: dict[tuple[str, int], int]) -> list[tuple[str, int, int, int]]:
    """(tenant, filter, page size, page) drawn uniformly, pages within each listing's total."""
    rnd = random.Random(seed)
    out = []
    for _ in range(SEQUENCE):
        tenant, f, size = (rnd.choice(filler.TENANTS), rnd.randrange(len(FILTERS)),
                           rnd.choice(SIZES))
        out.append((tenant, f, size, rnd.randint(1, max(1, math.ceil(totals[(tenant, f)] /
                                                                     size)))))
    return out


def _write_paths(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n")
    return path


def ours(seq: list[tuple[str, int, int, int]], lib: filler.Library) -> list[str]:
    out = []
    for tenant, f, size, page in seq:
        params = "&".join(p for p in (FILTERS[f][0], f"page={page}", f"pageSize={size}") if p)
        out.append(f"{lib.keys[tenant]} /v1/assets?{params}")
    return out


def theirs(seq: list[tuple[str, int, int, int]], skip_total: bool) -> list[str]:
    """The same requests as PocketBase's (bench/pocketbase.py names the tenants so)."""
    return ["- " + pb.query(f"tenant-{tenant}", FILTERS[f][1], FILTERS[f][2], page, size,
                            skip_total) for tenant, f, size, page in seq]


class Moto:
    """moto's S3 server on loopback, with one bucket, for the S3 storage cases."""

    ENV = {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench",
           "AWS_DEFAULT_REGION": "us-east-1"}

    def __init__(self, log: Path) -> None:
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        with open(log, "ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
                stdout=out, stderr=subprocess.STDOUT, env={**os.environ, **self.ENV})
        for _ in range(300):
            try:
                httpx.get(self.endpoint + "/moto-api/", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        import boto3

        boto3.client("s3", endpoint_url=self.endpoint, region_name="us-east-1",
                     aws_access_key_id="bench", aws_secret_access_key="bench"
                     ).create_bucket(Bucket="bench")

    def server_env(self) -> dict[str, str]:
        return {"MEDIASHELF_STORAGE_URL": "s3://bench/library",
                "MEDIASHELF_S3_ENDPOINT_URL": self.endpoint, **self.ENV}

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(30)


def browse_case(data: Path, db_url: str, lib: filler.Library, peer: Peer | None,
                args: argparse.Namespace, work: Path) -> dict[str, Any]:
    """Random browse on the cached, uncached and S3 (uncached) servers and PocketBase, the
    default list on local and S3 storage, and each server's /healthz, in the same rounds."""
    key = lib.keys[filler.TENANTS[0]]
    servers: dict[str, Server] = {}
    moto = None
    try:
        for label, cache in (("cached", args.list_cache), ("uncached", 0)):
            servers[label] = start_server(data, db_url, key, args.workers, cache,
                                          work / "browse-server.log", args.connections)
        if "s3" not in args.skip_set:
            moto = Moto(work / "moto.log")
            servers["s3"] = start_server(data, db_url, key, args.workers, 0,
                                         work / "browse-server.log", args.connections,
                                         env=moto.server_env())
        totals = _totals(servers["uncached"], lib)
        rounds: dict[str, list[dict[str, Any]]] = {}

        def run(name: str, url: str, run_key: str, paths: Path | None = None) -> None:
            res = wrk(url, run_key, args.duration, args.connections, paths=paths)
            res["path"] = "(the round's sequence)" if paths else urlsplit(url).path
            rounds.setdefault(name, []).append(res)

        for r in range(args.rounds):
            seq = sequence(1000 + r, totals)
            mine = _write_paths(work / "browse-ours.txt", ours(seq, lib))
            for label, server in servers.items():
                run(f"{label}_browse", server.url + "/v1/assets", key, mine)
                run(f"{label}_healthz", server.url + "/healthz", key)
                if label != "cached":
                    run(f"{label}_list_default", server.url + "/v1/assets", key)
            if peer is not None:
                for skip in (False, True):
                    paths = _write_paths(work / "browse-pb.txt", theirs(seq, skip))
                    run("pocketbase_browse" + ("_skiptotal" if skip else ""),
                        peer.side.url + "/api/health", "", paths)
                    # its deep pages in flight run on after wrk stops, on our next case's cores
                    settled = peer.side.settle()
                    rounds["pocketbase_browse" + ("_skiptotal" if skip else "")][-1][
                        "settle_s"] = round(settled, 2)
                run("pocketbase_health", peer.side.url + "/api/health", "")
        out: dict[str, Any] = {"sequence": f"{SEQUENCE:,} requests a round, seeds 1000.."
                               f"{999 + args.rounds}", "totals": {
                                   f"{t}|{FILTERS[f][0] or 'default'}": n
                                   for (t, f), n in totals.items()}}
        for name, runs in rounds.items():
            out[name] = median_round(runs)
            print(f"    {name:28} {out[name]['rps']:9.1f} req/s  p99 "
                  f"{out[name]['p99_us'] / 1000:8.2f} ms", flush=True)
        return out
    finally:
        for server in servers.values():
            server.stop()
        if moto is not None:
            moto.stop()


def _image(i: int) -> bytes:
    """A small PNG of its own bytes (two alike would be one asset: the library dedupes)."""
    from PIL import Image
    from PIL.PngImagePlugin import PngInfo

    img = Image.new("RGB", (64, 48), ((i * 7) % 256, (i * 13) % 256, (i // 256) % 256))
    text = PngInfo()
    text.add_text("bench", str(i))  # the number itself in the file: no two files alike
    buf = io.BytesIO()
    img.save(buf, "PNG", pnginfo=text)
    return buf.getvalue()


class Writer(threading.Thread):
    """Starts WRITES_PER_S image uploads a second to one tenant until stopped, each on a
    thread of a small pool (an upload takes longer than the gap between two on a busy
    machine); the rate is kept as long as fewer than IN_FLIGHT are unanswered."""

    IN_FLIGHT = 8

    def __init__(self, url: str, key: str, start_at: int, seconds: float = 0.0) -> None:
        super().__init__(daemon=True)
        self.url, self.key, self.i = url, key, start_at
        # the files made before the stream starts: making them is the client's work, not a
        # part of what the reads share the machine with
        self._made = {start_at + 1 + k: _image(start_at + 1 + k)
                      for k in range(int(seconds * WRITES_PER_S * 1.5) + 10)}
        self.done = 0
        self.failed = 0
        self.halt = threading.Event()
        self._lock = threading.Lock()

    def _upload(self, client: httpx.Client, i: int) -> None:
        try:
            data = self._made.pop(i, None) or _image(i)
            ok = client.post("/v1/assets", files={"file": (f"w{i}.png", data,
                                                          "image/png")}).status_code == 201
        except httpx.HTTPError:
            ok = False
        with self._lock:
            self.done += 1
            self.failed += not ok

    def run(self) -> None:
        from concurrent.futures import ThreadPoolExecutor

        with httpx.Client(base_url=self.url, headers={"x-api-key": self.key}, timeout=30,
                          limits=httpx.Limits(max_connections=self.IN_FLIGHT)) as client, \
                ThreadPoolExecutor(self.IN_FLIGHT) as pool:
            began, sent = time.perf_counter(), 0
            while not self.halt.is_set():
                self.i += 1
                sent += 1
                pool.submit(self._upload, client, self.i)
                wait = began + sent / WRITES_PER_S - time.perf_counter()
                if wait > 0:
                    self.halt.wait(wait)


def _replies(url: str) -> dict[str, float]:
    """The server's mediashelf_replies_total of listings, by outcome (hit, miss, read)."""
    out = {}
    for line in httpx.get(url + "/metrics", timeout=30).text.splitlines():
        if line.startswith('mediashelf_replies_total{kind="list"'):
            outcome = line.split('outcome="', 1)[1].split('"', 1)[0]
            out[outcome] = float(line.rsplit(" ", 1)[1])
    return out


def writes_case(data: Path, db_url: str, lib: filler.Library, args: argparse.Namespace,
                work: Path) -> dict[str, Any]:
    """Reads of the cached listings alone and under a stream of uploads, rounds alternating
    (the worker embedded in the server, as `mediashelf serve` runs by default)."""
    key = lib.keys[filler.TENANTS[0]]
    server = start_server(data, db_url, key, args.workers, args.list_cache,
                          work / "writes-server.log", args.connections, worker=True)
    rounds: dict[str, list[dict[str, Any]]] = {}
    uploads, failed, seconds = 0, 0, 0.0
    try:
        for r in range(args.rounds):
            for writing in (False, True) if r % 2 == 0 else (True, False):
                for name, path in (("list_default", "/v1/assets"),
                                   ("list_video", "/v1/assets?type=VIDEO")):
                    writer = Writer(server.url, key, 1_000_000 * (r + 1) + uploads,
                                    args.duration + 1 if writing else 0)
                    if writing:
                        writer.start()
                        time.sleep(0.5)  # the stream under way before the reads start
                    began = time.perf_counter()
                    before = _replies(server.url)
                    res = wrk(server.url + path, key, args.duration, args.connections)
                    res["path"] = path
                    res["replies"] = {k: v - before.get(k, 0.0)
                                      for k, v in _replies(server.url).items()}
                    if writing:
                        writer.halt.set()
                        writer.join()
                        uploads, failed = uploads + writer.done, failed + writer.failed
                        seconds += time.perf_counter() - began + 0.5
                    rounds.setdefault(f"{name}_{'writes' if writing else 'alone'}", []
                                      ).append(res)
    finally:
        server.stop()
    out: dict[str, Any] = {"uploads": uploads, "upload_failures": failed,
                           "uploads_per_s": uploads / seconds if seconds else 0.0}
    for name, runs in rounds.items():
        out[name] = median_round(runs)
    for name in ("list_default", "list_video"):
        alone, busy = out[f"{name}_alone"], out[f"{name}_writes"]
        # each round's pair ran back to back: the median of their ratios is the steadier figure
        pairs = sorted(b["rps"] / a["rps"] for a, b in zip(
            rounds[f"{name}_alone"], rounds[f"{name}_writes"], strict=True))
        out[f"{name}_rps_ratio"] = pairs[len(pairs) // 2]
        out[f"{name}_p99_ratio"] = busy["p99_us"] / max(1, alone["p99_us"])
        seen = busy.get("replies", {})
        out[f"{name}_hit_share"] = seen.get("hit", 0.0) / max(
            1.0, seen.get("hit", 0.0) + seen.get("miss", 0.0))
        out[f"{name}_read_per_miss"] = seen.get("read", 0.0) / max(1.0, seen.get("miss", 0.0))
        print(f"    {name} under {out['uploads_per_s']:.1f} uploads/s: req/s x "
              f"{out[f'{name}_rps_ratio']:.2f}, p99 x {out[f'{name}_p99_ratio']:.2f}, cache "
              f"hits {out[f'{name}_hit_share']:.3f}, reads per miss "
              f"{out[f'{name}_read_per_miss']:.3f}", flush=True)
    return out

"""The benchmark: `python -m bench.run --n 10000 --n 1000000 --backends sqlite,postgres`.

Fills a library of N assets per backend, starts the real server the way production runs it,
drives load with wrk from a separate process, runs PocketBase side by side with the same rows
and load, and the ingest benchmarks; writes bench/results/latest.json and docs/performance.md.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from bench import fill as filler
from bench import ingest
from bench import pocketbase as pb
from bench.report import write_markdown

ROOT = Path(__file__).resolve().parent.parent
LUA = Path(__file__).with_name("report.lua")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    proc: subprocess.Popen[bytes]
    url: str
    key: str

    @property
    def pid(self) -> int:
        return self.proc.pid

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def start_server(data_dir: Path, db_url: str, key: str, workers: int, cache: int,
                 log: Path, connections: int = 16, env: dict[str, str] | None = None,
                 worker: bool = False) -> Server:
    """`mediashelf serve --no-worker --workers W` (the worker embedded if asked): uvicorn
    (httptools, uvloop) as production; returns once the listing answers."""
    port = free_port()
    extra = env or {}
    env = {**os.environ, "MEDIASHELF_DATA_DIR": str(data_dir), "MEDIASHELF_DATABASE_URL": db_url,
           "MEDIASHELF_PORT": str(port), "MEDIASHELF_SEED_MUSIC": "false",
           "MEDIASHELF_LOG_LEVEL": "WARNING", "MEDIASHELF_LIST_CACHE": str(cache),
           # as many pooled connections as requests in flight: an overflow connection is
           # opened and closed per request (on SQLite with its PRAGMAs), which costs more
           "MEDIASHELF_DB_POOL_SIZE": str(max(5, connections)), "MEDIASHELF_DB_MAX_OVERFLOW": "10",
           **extra}
    with open(log, "ab") as out:
        proc = subprocess.Popen([sys.executable, "-m", "mediashelf", "serve",
                                 *([] if worker else ["--no-worker"]),
                                 "--workers", str(workers)], env=env, stdout=out,
                                stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    for _ in range(600):
        if proc.poll() is not None:
            raise RuntimeError(f"server exited; see {log}")
        try:
            if httpx.get(url + "/v1/assets", headers={"x-api-key": key}, timeout=5
                         ).status_code == 200:
                return Server(proc, url, key)
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError("server did not come up")


def wrk(url: str, key: str, duration: int, connections: int,
        walk: tuple[str, int] | None = None, paths: Path | None = None) -> dict[str, Any]:
    """One wrk run on url; with paths, the requests of that file in turn (bench/report.lua)."""
    env = {**os.environ, "BENCH_KEY": key, "BENCH_PATHS": str(paths or "")}
    cmd = ["wrk", "-t1", f"-c{connections}", f"-d{duration}s", "--timeout", "30s", "-s",
           str(LUA), url]
    if not walk:
        out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True).stdout
        res: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
        res["rps"] = res["requests"] / (res["duration_us"] / 1e6)
        return res
    # A walk: every page once, in order. wrk cannot end a test early, so the script leaves a
    # file after the last page, and the walk's time is taken here, from start to that file.
    marker = Path(f"/tmp/mediashelf-bench-walk-{os.getpid()}")
    marker.unlink(missing_ok=True)
    env.update(BENCH_WALK_PATH=walk[0], BENCH_WALK_PAGES=str(walk[1]),
               BENCH_WALK_DONE=str(marker))
    cmd[3] = "-d3600s"
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, text=True)
    while not marker.exists() and proc.poll() is None:
        time.sleep(0.002)
    elapsed = time.perf_counter() - started
    proc.send_signal(signal.SIGINT)
    out = proc.communicate(timeout=60)[0]
    marker.unlink(missing_ok=True)
    res = json.loads(out.strip().splitlines()[-1])
    res.update(requests=walk[1], duration_us=int(elapsed * 1e6), rps=walk[1] / elapsed)
    return res


def sequential(url: str, times: int = 3) -> dict[str, Any]:
    """For requests too slow for a wrk run: a few, one at a time (req/s = 1 / median time)."""
    spent = []
    for _ in range(times):
        for attempt in range(3):  # a peer may refuse one request while wrk's load drains
            t = time.perf_counter()
            res = httpx.get(url, timeout=600)
            if res.is_success:
                spent.append(time.perf_counter() - t)
                break
            print(f"    {res.status_code} from {url}: {res.text[:200]}", flush=True)
            time.sleep(2 + 3 * attempt)
        else:
            res.raise_for_status()
    p50 = sorted(spent)[len(spent) // 2]
    return {"requests": times, "duration_us": int(sum(spent) * 1e6), "p50_us": int(p50 * 1e6),
            "p90_us": int(max(spent) * 1e6), "p99_us": int(max(spent) * 1e6),
            "mean_us": sum(spent) / times * 1e6, "max_us": int(max(spent) * 1e6), "errors": 0,
            "non2xx": 0, "rps": 1 / p50, "sequential": True}


def median_round(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The round with the median req/s (its latencies too), and every round's req/s."""
    ranked = sorted(runs, key=lambda r: r["rps"])
    chosen = dict(ranked[len(ranked) // 2])
    chosen["rounds_rps"] = [round(r["rps"], 1) for r in runs]
    return chosen


@dataclass
class Peer:
    """PocketBase with the same rows beside our servers: its cases run in our rounds."""

    side: pb.PocketBase
    cases: dict[str, str]
    info: dict[str, Any]
    rounds: dict[str, list[dict[str, Any]]]

    def round(self, args: argparse.Namespace) -> None:
        for name, path in self.cases.items():
            self.rounds[name].append(wrk(self.side.url + path, "", args.duration,
                                         args.connections))
            self.side.settle()  # its pages still in flight would share our next case's cores


def list_cases(servers: dict[int, tuple[Server, filler.Library]], args: argparse.Namespace,
               peers: dict[int, Peer]) -> dict[int, dict[str, Any]]:
    """Every case on every library size's server, which run side by side: each round goes
    through all sizes and cases, so a ratio between sizes compares neighbouring runs; and
    PocketBase's cases of each size in the same round."""
    plan: dict[int, dict[str, str]] = {}
    out: dict[int, dict[str, Any]] = {}
    for n, (server, lib) in servers.items():
        h = {"x-api-key": server.key}
        pages = int(httpx.get(server.url + "/v1/assets", headers=h).headers["X-Total-Pages"])
        walk_total = int(httpx.get(server.url + "/v1/assets?pageSize=100", headers=h
                                   ).headers["X-Total-Pages"])
        plan[n] = {
            "healthz": "/healthz",
            "list_default": "/v1/assets",
            "types_video_image": "/v1/assets?type=VIDEO&type=IMAGE",
            "status_processing": "/v1/assets?status=PROCESSING",
            "page_size_100": "/v1/assets?pageSize=100",
            "middle_page": f"/v1/assets?page={max(1, pages // 2)}",
            "last_page": f"/v1/assets?page={pages}",
            "get_asset": f"/v1/assets/{lib.some_ids[filler.TENANTS[0]]}",
        }
        out[n] = {"pages_default": pages, "pages_walk": walk_total}
    rounds: dict[int, dict[str, list[dict[str, Any]]]] = {
        n: {name: [] for name in cases} for n, cases in plan.items()}
    for _ in range(args.rounds):  # a burst of load on the shared machine hits one round of
        for name in plan[next(iter(plan))]:  # each case and size, not one case or one size
            for n, (server, _lib) in servers.items():
                rounds[n][name].append(wrk(server.url + plan[n][name], server.key,
                                           args.duration, args.connections))
        for peer in peers.values():
            peer.round(args)
    for n, (server, _lib) in servers.items():
        print(f"    N={n:,}", flush=True)
        for name, path in plan[n].items():
            out[n][name] = median_round(rounds[n][name])
            out[n][name]["path"] = path
            print(f"    {name:18} {out[n][name]['rps']:9.0f} req/s  p50 "
                  f"{out[n][name]['p50_us'] / 1000:7.2f} ms  p99 "
                  f"{out[n][name]['p99_us'] / 1000:7.2f} ms", flush=True)
        total = out[n]["pages_walk"]
        walk = wrk(server.url + "/v1/assets", server.key, args.duration, args.connections,
                   walk=("/v1/assets?pageSize=100", total))
        walk["path"] = f"/v1/assets?pageSize=100&page=1..{total}"
        out[n]["walk"] = walk
        print(f"    walk {total} pages: {walk['duration_us'] / 1e6:.2f} s, {walk['rps']:.0f} "
              f"pages/s", flush=True)
    return out


def pg_admin(url: str, sql: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql)


def make_library(backend: str, n: int, pg_url: str, work: Path, name: str = "bench",
                 settle: bool = True) -> tuple[Path, str, filler.Library]:
    """A fresh library of n assets (bench/fill.py) at work/<name>-<backend>-<n>, on SQLite
    there or on a fresh PostgreSQL database: its data folder, database URL and fill."""
    data = work / f"{name}-{backend}-{n}"
    if data.exists():
        shutil.rmtree(data)
    data.mkdir(parents=True)
    if backend == "postgres":
        db_name = f"mediashelf_{name}_{n}"
        pg_admin(pg_url, f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')
        pg_admin(pg_url, f'CREATE DATABASE "{db_name}"')
        db_url = pg_url.rpartition("/")[0] + "/" + db_name
    else:
        db_url = f"sqlite:///{data / 'mediashelf.db'}"
    services = filler.open_library(data, db_url)
    lib = filler.fill(services, n)
    if settle:
        # What autovacuum does after a bulk insert: planner statistics and, on PostgreSQL,
        # the visibility map (index-only scans); the server then starts on a settled library.
        with services.db.engine.connect().execution_options(isolation_level="AUTOCOMMIT"
                                                            ) as conn:
            conn.exec_driver_sql("ANALYZE" if backend == "sqlite" else "VACUUM (ANALYZE)")
    services.close()
    print(f"  {backend} N={n:,}: filled in {lib.fill_seconds:.1f} s", flush=True)
    return data, db_url, lib


def backend_runs(backend: str, sizes: list[int], args: argparse.Namespace, work: Path,
                 peers: dict[int, Peer]) -> dict[str, Any]:
    """Fill a library of each size, then serve them all at once, cached and then uncached
    (PocketBase's cases in the same rounds); then the browse, S3 and write-stream cases."""
    libs: dict[int, tuple[Path, str, filler.Library]] = {}
    results: dict[str, Any] = {}
    for n in sizes:
        data, db_url, lib = make_library(backend, n, args.pg_url, work)
        libs[n] = (data, db_url, lib)
        results[f"{backend}-{n}"] = {
            "fill_seconds": lib.fill_seconds, "database_url": db_url.split("@")[-1],
            "tenant_rows": {t: sum(v for k, v in lib.counts.items()
                                   if k[0] == str(lib.tenant_ids[t])) for t in lib.keys}}
    for label, cache in (("cached", args.list_cache), ("uncached", 0)):
        print(f"  {backend} servers ({label}, {args.workers} workers each, one per size):",
              flush=True)
        servers: dict[int, tuple[Server, filler.Library]] = {}
        try:
            for n, (data, db_url, lib) in libs.items():
                servers[n] = (start_server(data, db_url, lib.keys[filler.TENANTS[0]],
                                           args.workers, cache, work / "server.log",
                                           args.connections), lib)
            for n, cases in list_cases(servers, args, peers).items():
                results[f"{backend}-{n}"][label] = cases
        finally:
            for server, _lib in servers.values():
                server.stop()
    from bench import browse  # it imports this module: imported when needed

    for n, (data, db_url, lib) in libs.items():
        if "browse" not in args.skip_set:
            results[f"{backend}-{n}"]["browse"] = browse.browse_case(
                data, db_url, lib, peers.get(n), args, work)
        if "writes" not in args.skip_set:
            results[f"{backend}-{n}"]["writes"] = browse.writes_case(data, db_url, lib, args,
                                                                     work)
    return results


def start_peer(n: int, args: argparse.Namespace, work: Path) -> Peer:
    """PocketBase filled with the same n rows, serving, with the list cases' paths."""
    side = pb.PocketBase(work / f"pocketbase-{n}", free_port())
    (work / f"pocketbase-{n}").mkdir(parents=True, exist_ok=True)
    setup = side.setup(n, seed=6)
    try:
        tenant = setup["tenant"]
        totals = pb.total(side.url, pb.query(tenant, ["READY"], None, 1, 20, False))
        last = max(1, math.ceil(totals / 20))
        cases = {
            "health": "/api/health",
            "list_default": pb.query(tenant, ["READY"], None, 1, 20, False),
            "list_default_skiptotal": pb.query(tenant, ["READY"], None, 1, 20, True),
            "types_video_image": pb.query(tenant, ["READY"], ["VIDEO", "IMAGE"], 1, 20, False),
            "last_page": pb.query(tenant, ["READY"], None, last, 20, False),
            "last_page_skiptotal": pb.query(tenant, ["READY"], None, last, 20, True),
        }
        out: dict[str, Any] = {"fill_seconds": setup["fill_seconds"], "total_default": totals,
                               "version": subprocess.run([pb.binary(), "--version"],
                                                         capture_output=True, text=True
                                                         ).stdout.strip()}
        print(f"  pocketbase N={n}: filled in {setup['fill_seconds']:.1f} s", flush=True)
    except BaseException:
        side.stop()
        raise
    return Peer(side, cases, out, {name: [] for name in cases})


def peer_results(peer: Peer) -> dict[str, Any]:
    """The median round of each of PocketBase's cases, over every round it ran in."""
    out = dict(peer.info)
    for name, path in peer.cases.items():
        out[name] = median_round(peer.rounds[name])
        out[name]["path"] = path
        if out[name]["requests"] == 0:  # slower than a whole wrk run: time a few alone
            out[name] = sequential(peer.side.url + path)
            out[name]["path"] = path
        print(f"    pb {name:22} {out[name]['rps']:9.1f} req/s  p50 "
              f"{out[name]['p50_us'] / 1000:8.2f} ms", flush=True)
    return out


def upload_server(work: Path, args: argparse.Namespace) -> Any:
    data = work / "upload"
    if data.exists():
        shutil.rmtree(data)
    services = filler.open_library(data, f"sqlite:///{data / 'mediashelf.db'}")
    plain, _ = services.keys.create("uploader")
    services.close()
    return start_server(data, f"sqlite:///{data / 'mediashelf.db'}", plain, 1, 0,
                        work / "upload-server.log")


def issue15_cases(work: Path, skip: set[str], tus_size: str) -> dict[str, Any]:
    """The resumable and the re-upload cases (bench/tus.py, bench/reupload.py); each can also
    run alone and write its figures into an existing results file (--into)."""
    from bench import reupload, tus  # they import this module: imported when needed
    from mediashelf.settings import parse_size

    out: dict[str, Any] = {}
    if "tus" not in skip:
        print(f"  ingest: {tus_size} tus vs multipart", flush=True)
        out["tus"] = tus.tus_case(work, parse_size(tus_size))
    if "reupload" not in skip:
        print("  ingest: re-upload of 200 known files", flush=True)
        out["reupload"] = reupload.run(200, 1024 * 1024, work / "reupload", None)
    return out


def merge_into(results_path: Path, key: str, result: dict[str, Any], doc: Path) -> None:
    """Put one case's result into a full run's results file and write the report again."""
    results = json.loads(results_path.read_text())
    results[key] = {**result, "run_alone": time.strftime("%Y-%m-%d %H:%M:%S %Z")}
    results_path.write_text(json.dumps(results, indent=1))
    write_markdown(results, doc)


def machine() -> dict[str, Any]:
    def cmd(*a: str) -> str:
        try:
            return subprocess.run(a, capture_output=True, text=True).stdout.strip()
        except OSError:
            return ""

    cpu = next((line.split(":", 1)[1].strip() for line in
                Path("/proc/cpuinfo").read_text().splitlines() if "model name" in line), "?")
    mem = Path("/proc/meminfo").read_text().splitlines()[0].split()[1]
    import fastapi
    import sqlalchemy
    import uvicorn

    return {"cpu": cpu, "cores": os.cpu_count(), "memory_gib": round(int(mem) / 2**20, 1),
            "kernel": platform.release(), "python": platform.python_version(),
            "sqlite": __import__("sqlite3").sqlite_version,
            "postgresql": cmd("psql", "--version"), "wrk": cmd("wrk", "-v").splitlines()[0]
            if cmd("wrk", "-v") else "", "uvicorn": uvicorn.__version__,
            "fastapi": fastapi.__version__, "sqlalchemy": sqlalchemy.__version__,
            "load_before": os.getloadavg()}


def preflight(backends: list[str], skip: set[str], pg_url: str) -> None:
    """Stop before the first fill when a tool the run needs is missing, and say how to get it."""
    missing = []
    if not shutil.which("wrk"):
        missing.append("wrk, the load generator: apt-get install -y wrk")
    if not {"upload", "tus"} <= skip and not shutil.which("curl"):
        missing.append("curl, for the upload case: apt-get install -y curl")
    if "pocketbase" not in skip:
        try:
            pb.binary()
        except SystemExit as e:
            missing.append(str(e))
    if "postgres" in backends:
        try:
            pg_admin(pg_url, "SELECT 1")
        except Exception as e:  # the driver missing or the server down: both are said as is
            reason = " ".join(str(e).split())
            missing.append(f"PostgreSQL at {pg_url} (--pg-url; pip install -e '.[postgres]'): "
                           f"{reason}")
    unknown = set(backends) - {"sqlite", "postgres"}
    if unknown:
        missing.append(f"backends are sqlite and postgres, not {', '.join(sorted(unknown))}")
    if missing:
        raise SystemExit("bench cannot run:\n  " + "\n  ".join(missing))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n", type=int, action="append", help="library sizes (repeatable)")
    ap.add_argument("--backends", default="sqlite,postgres")
    ap.add_argument("--duration", type=int, default=3, help="seconds per wrk run")
    ap.add_argument("--rounds", type=int, default=5, help="runs of each case (median kept)")
    ap.add_argument("--connections", type=int, default=16)
    ap.add_argument("--workers", type=int, default=2, help="API processes (uvicorn workers)")
    ap.add_argument("--list-cache", type=int, default=512)
    ap.add_argument("--pg-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    ap.add_argument("--work", type=Path, default=Path("/tmp/mediashelf-bench"))
    ap.add_argument("--skip", default="",
                    help="comma list of: pocketbase, browse, writes, s3, profile, ingest, upload, "
                         "tus, reupload")
    ap.add_argument("--tus-size", default="1GiB", help="the tus case's file (default 1GiB)")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "latest.json")
    ap.add_argument("--doc", type=Path, default=ROOT / "docs" / "performance.md")
    args = ap.parse_args()
    sizes = args.n or [10_000]
    skip = set(filter(None, args.skip.split(",")))
    preflight(args.backends.split(","), skip, args.pg_url)
    args.work.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {"command": " ".join(["python -m bench.run", *sys.argv[1:]]),
                               "started": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
                               "machine": machine(), "settings": {
                                   "duration_s": args.duration, "rounds": args.rounds,
                                   "connections": args.connections,
                                   "wrk_threads": 1, "workers": args.workers,
                                   "list_cache": args.list_cache}, "runs": {}, "pocketbase": {}}
    partial = args.out.with_suffix(".partial.json")  # each stage saved as it ends
    partial.parent.mkdir(parents=True, exist_ok=True)
    args.skip_set = skip
    peers: dict[int, Peer] = {}
    try:
        if "pocketbase" not in skip:  # serving through every backend's rounds
            peers = {n: start_peer(n, args, args.work) for n in sizes}
        for backend in args.backends.split(","):
            results["runs"].update(backend_runs(backend, sizes, args, args.work, peers))
            partial.write_text(json.dumps(results, indent=1))
        for n, peer in peers.items():
            results["pocketbase"][str(n)] = peer_results(peer)
    finally:
        for peer in peers.values():
            peer.side.stop()
    partial.write_text(json.dumps(results, indent=1))
    if "profile" not in skip:
        print("  where a cold page's time goes", flush=True)
        from bench import cold

        results["profile"] = cold.profile_all(args.backends.split(","), args.pg_url,
                                              args.work / "profile")
    if "ingest" not in skip:
        print("  ingest: media", flush=True)
        results["ingest"] = ingest.media_cases(args.work)
    if "upload" not in skip:
        print("  ingest: 1 GiB upload", flush=True)
        results["upload"] = ingest.upload_case(args.work, lambda: upload_server(args.work, args))
    results.update(issue15_cases(args.work, skip, args.tus_size))
    partial.unlink(missing_ok=True)
    results["finished"] = time.strftime("%Y-%m-%d %H:%M:%S %Z")
    results["machine"]["load_after"] = os.getloadavg()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=1))
    write_markdown(results, args.doc)
    print(f"wrote {args.out} and {args.doc}")


if __name__ == "__main__":
    main()

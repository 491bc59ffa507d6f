"""A cold page: GET /v1/assets?pageSize=100 with the reply cache and wire memo off, per database
and storage (local folder, S3 on moto), against /healthz of the same server in the same rounds.

    python -m bench.cold [--n 10000] [--rounds 5] [--duration 3] [--backends sqlite,postgres]
    python -m bench.cold --profile [--calls 300]    # where an in-process cold page's time goes
    python -m bench.cold --baseline /tmp/old/src     # and another version's servers beside ours

(For a baseline: `git archive main src | tar -x -C /tmp/old`; its servers run with that folder
first on PYTHONPATH, in the same rounds as ours, and each case gets a now ÷ baseline ratio.)

Each backend gets one library (bench/fill.py) served twice, side by side: once on a local folder
and once on S3 (moto's server, tests/support/s3_endpoint.py, which checks presigned signatures).
A listing reads no S3 object, it only signs links; so S3 ÷ local is the cost of signing. Every
round runs every case on every server (wrk, as bench.run), and medians are kept. The machine is
shared: compare the ratios, not the absolute figures.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import functools
import json
import math
import os
import pstats
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from bench import fill as filler
from bench.run import free_port, pg_admin, start_server, wrk

ENDPOINT = Path(__file__).parent.parent / "tests" / "support" / "s3_endpoint.py"
AWS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
       "AWS_DEFAULT_REGION": "us-east-1"}
PAGE = "/v1/assets?pageSize=100"
CASES = (("healthz", "/healthz"), ("list20", "/v1/assets"), ("list100", PAGE))
STORAGES = ("local", "s3")


@contextlib.contextmanager
def moto(work: Path) -> Iterator[str]:
    """moto's S3 server (with the tests' presigned-URL check) and one bucket; its endpoint."""
    import boto3

    port = free_port()
    with open(work / "moto.log", "ab") as log:
        proc = subprocess.Popen([sys.executable, str(ENDPOINT), "-H", "127.0.0.1", "-p",
                                 str(port)], stdout=log, stderr=subprocess.STDOUT,
                                env={**os.environ, **AWS})
    endpoint = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            with contextlib.suppress(httpx.HTTPError):
                httpx.get(endpoint + "/moto-api/", timeout=1)
                break
            time.sleep(0.1)
        boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                     aws_access_key_id="testing", aws_secret_access_key="testing",
                     ).create_bucket(Bucket="bench")
        yield endpoint
    finally:
        proc.terminate()
        proc.wait(10)


def library(backend: str, n: int, work: Path, pg_url: str) -> tuple[str, filler.Library]:
    """A filled library on `backend`; its database URL."""
    data = work / f"{backend}-fill"
    shutil.rmtree(data, ignore_errors=True)
    data.mkdir(parents=True)
    if backend == "postgres":
        name = f"mediashelf_bench_cold_{n}"
        pg_admin(pg_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        pg_admin(pg_url, f'CREATE DATABASE "{name}"')
        db_url = pg_url.rpartition("/")[0] + "/" + name
    else:
        db_url = f"sqlite:///{data / 'mediashelf.db'}"
    services = filler.open_library(data, db_url)
    lib = filler.fill(services, n)
    with services.db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("ANALYZE" if backend == "sqlite" else "VACUUM (ANALYZE)")
    services.close()
    return db_url, lib


def storage_env(storage: str, endpoint: str, data: Path) -> dict[str, str]:
    if storage == "local":
        return {"MEDIASHELF_STORAGE_URL": (data / "files").as_uri()}
    return {"MEDIASHELF_STORAGE_URL": "s3://bench/lib", "MEDIASHELF_S3_ENDPOINT_URL": endpoint,
            **AWS}


def check_links(url: str, key: str) -> None:
    """The page answers 200 with 100 assets whose links point where the storage says."""
    reply = httpx.get(url + PAGE, headers={"x-api-key": key}, timeout=30)
    body = reply.json()
    assert reply.status_code == 200 and len(body) == 100, (reply.status_code, len(body))
    assert all(a["fileUrl"] and a["thumbnailUrl"] for a in body)


def serve(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    """Every (backend, storage) server side by side; rounds of /healthz and the cold page."""
    results: dict[str, Any] = {}
    with moto(work) as endpoint:
        servers = {}
        try:
            for backend in args.backends:
                db_url, lib = library(backend, args.n, work, args.pg_url)
                key = lib.keys[filler.TENANTS[0]]
                versions = [("", {})]
                if args.baseline:
                    versions.append(("-baseline", {"PYTHONPATH": str(args.baseline)}))
                for storage in STORAGES:
                    for suffix, extra in versions:
                        name = f"{backend}-{storage}{suffix}"
                        data = work / name
                        shutil.rmtree(data, ignore_errors=True)
                        data.mkdir(parents=True)
                        server = start_server(data, db_url, key, args.workers, 0,
                                              work / "server.log", args.connections,
                                              env={**storage_env(storage, endpoint, data),
                                                   **extra})
                        servers[name] = server
                        check_links(server.url, key)
            runs: dict[str, dict[str, list[float]]] = {
                name: {case: [] for case, _ in CASES} for name in servers}
            for r in range(args.rounds):
                for name, server in servers.items():
                    for case, path in CASES:
                        res = wrk(server.url + path, server.key, args.duration, args.connections)
                        assert res["non2xx"] == 0 and res["errors"] == 0, res
                        runs[name][case].append(res["rps"])
                print(f"  round {r + 1}/{args.rounds} done", flush=True)
        finally:
            for server in servers.values():
                server.stop()
    for name, cases in runs.items():  # ratios within a round, then their median
        results[name] = {"rps": {case: statistics.median(v) for case, v in cases.items()},
                         "per_healthz": {case: ratio(cases[case], cases["healthz"])
                                         for case, _ in CASES[1:]}, "rounds": cases}
    for backend in args.backends:
        for suffix in ("", "-baseline") if args.baseline else ("",):
            local, s3 = runs[f"{backend}-local{suffix}"], runs[f"{backend}-s3{suffix}"]
            results[f"{backend}-s3_per_local{suffix}"] = {case: ratio(s3[case], local[case])
                                                          for case, _ in CASES[1:]}
        for storage in STORAGES if args.baseline else ():
            now, then = runs[f"{backend}-{storage}"], runs[f"{backend}-{storage}-baseline"]
            results[f"{backend}-{storage}-now_per_baseline"] = {
                case: ratio(now[case], then[case]) for case, _ in CASES[1:]}
    return results


def ratio(a: list[float], b: list[float]) -> float:
    """The median of the rounds' ratios; a round where b finished no request is left out
    (a page slower than the run's duration: 0 req/s), inf if all were."""
    pairs = [x / y for x, y in zip(a, b, strict=True) if y > 0]
    return statistics.median(pairs) if pairs else math.inf


# --- where the time goes, in process ---------------------------------------------------------

CATEGORIES = (  # (label, substrings of "file:function"), first match wins
    ("timestamps", ("wire.py:iso", "time.gmtime", "stamps.py")),
    ("URL signing", ("security.py", "storage/", "hmac", "_hashlib", "hashlib", "parse.py",
                     "names.py", "kinds.py", "botocore", "boto3", "presign", "links")),
    ("orjson.dumps", ("orjson.dumps", "replies.py:body")),
    ("to_wire", ("wire.py",)),
    ("row decoding", ("sql/sqlite.py:asset", "sql/postgresql.py:asset", "as_values", "uuid.py",
                      "id_text",
                      "enum.py", "orjson.loads", "listing.py:__getitem__", "_make")),
    ("statements", ("sqlite3", "psycopg", "sqlalchemy", "db/", "pool", "fetchall", "execute")),
)


def category(func: tuple[str, int, str], table: dict[Any, Any], depth: int = 0) -> str:
    """A function's category; a builtin's (str.join, isinstance ...) is its main caller's."""
    label = f"{func[0]}:{func[2]}"
    for name, needles in CATEGORIES:
        if any(n in label for n in needles):
            return name
    callers = table[func][4] if func in table else {}
    if callers and depth < 3:
        caller = max(callers, key=lambda c: callers[c][3])
        return category(caller, table, depth + 1)
    return "other"


def profile(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    """Replies._list of the default page of 100, caches off, in this process under cProfile."""
    from mediashelf.app import build_services
    from mediashelf.domain import ListQuery
    from mediashelf.services.replies import Replies
    from mediashelf.settings import Settings

    out: dict[str, Any] = {}
    with moto(work) as endpoint:
        for backend in args.backends:
            db_url, lib = library(backend, args.n, work, args.pg_url)
            for storage in STORAGES:
                data = work / f"{backend}-{storage}"
                shutil.rmtree(data, ignore_errors=True)
                env = storage_env(storage, endpoint, data)
                os.environ.update({k: v for k, v in env.items() if k.startswith("AWS")})
                settings = Settings(data_dir=data, database_url=db_url, seed_music=False,
                                    storage_url=env["MEDIASHELF_STORAGE_URL"],
                                    s3_endpoint_url=env.get("MEDIASHELF_S3_ENDPOINT_URL"))
                services = build_services(settings, with_worker=False)
                key = services.keys.resolve(lib.keys[filler.TENANTS[0]])
                replies = Replies(services.assets, 0, 4, reads=services.db.async_reads(),
                                  local=services.db.sync_reads())
                query = ListQuery(page_size=100)
                calls = args.calls if storage == "local" or args.calls < 20 else args.calls // 10
                # one event loop for the whole run, as a server has
                loop = asyncio.new_event_loop()
                pages = functools.partial(_pages, replies, key, query, loop,
                                          services.db.local_reads)
                pages(20)  # warm: connections, statement caches
                started = time.perf_counter()
                pages(calls)
                plain_ms = (time.perf_counter() - started) * 1000 / calls
                prof = cProfile.Profile()
                prof.enable()
                pages(calls)
                prof.disable()
                loop.run_until_complete(replies.close())
                loop.close()
                stats = pstats.Stats(prof)
                spent: dict[str, float] = {}
                table = stats.stats  # type: ignore[attr-defined]
                for func, (_cc, _nc, tt, _ct, _callers) in table.items():
                    spent[category(func, table)] = spent.get(category(func, table), 0.0) + tt
                total = sum(spent.values())
                name = f"{backend}-{storage}"
                out[name] = {"page_ms": plain_ms,
                             "shares": {k: v / total for k, v in sorted(spent.items())}}
                print(f"{name}: {plain_ms:.2f} ms a page (no profiler); under cProfile:")
                for k, v in sorted(spent.items(), key=lambda kv: -kv[1]):
                    print(f"  {k:14s} {100 * v / total:5.1f} %")
                if args.top:
                    stats.sort_stats("tottime").print_stats(args.top)
                services.close()
    return out


def _pages(replies: Any, key: Any, query: Any, loop: asyncio.AbstractEventLoop,
           on_loop: bool, n: int) -> None:
    """n cold pages read as the server reads them: SQLite's on the loop, PostgreSQL's awaited
    on the loop's own connections."""
    for _ in range(n):
        if on_loop:
            replies._list(key, query)
        else:
            loop.run_until_complete(replies._read_list(key, query))


def profile_all(backends: list[str], pg_url: str, work: Path, n: int = 10_000,
                calls: int = 300) -> dict[str, Any]:
    """profile() for bench.run's report: every backend, on local storage and on S3."""
    work.mkdir(parents=True, exist_ok=True)
    args = argparse.Namespace(backends=backends, n=n, pg_url=pg_url, calls=calls, top=0)
    return {"n": n, "calls": calls, "cases": profile(args, work)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--duration", type=int, default=3)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--pg-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--work", type=Path, default=Path("/tmp/mediashelf-bench-cold"))
    parser.add_argument("--baseline", type=Path, help="another version's src folder, beside")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--top", type=int, default=0, help="with --profile: top functions")
    parser.add_argument("--out", type=Path, help="write the results here as JSON")
    args = parser.parse_args()
    args.backends = args.backends.split(",")
    args.work.mkdir(parents=True, exist_ok=True)
    result = profile(args, args.work) if args.profile else serve(args, args.work)
    if not args.profile:
        for name, r in result.items():
            if "rps" in r:
                print(f"{name}: " + ", ".join(f"{c} {v:.0f} req/s" for c, v in r["rps"].items())
                      + "; ÷ /healthz " + ", ".join(f"{c} {v:.3f}"
                                                   for c, v in r["per_healthz"].items()))
            else:
                print(f"{name}: " + ", ".join(f"{c} {v:.3f}" for c, v in r.items()))
    if args.out:
        args.out.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()

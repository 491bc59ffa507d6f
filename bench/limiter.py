"""What the rate limiter costs: `python -m bench.limiter --n 10000 --backend sqlite`.

One library, two servers on it side by side, as production runs them (`serve --no-worker
--workers 2`, the listing cache on): one with no limits at all (no budgets, wrong keys not
counted), one with per-key and per-tenant read budgets too large to ever refuse plus the
default wrong-key limit. Every round loads the default listing on one and then the other, so the
ratio compares neighbouring runs; the median round of each is kept. Writes
bench/results/limiter.json.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path
from typing import Any

from bench import fill as filler
from bench.run import ROOT, Server, median_round, pg_admin, preflight, start_server, wrk

OFF = {"MEDIASHELF_AUTH_FAILURE_LIMIT": "off"}
ON = {"MEDIASHELF_RATE_LIMIT_READS": "100000000000/minute",
      "MEDIASHELF_TENANT_RATE_LIMIT_READS": "100000000000/minute"}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n", type=int, default=10_000, help="library size")
    ap.add_argument("--backend", default="sqlite", choices=["sqlite", "postgres"])
    ap.add_argument("--duration", type=int, default=3, help="seconds per wrk run")
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--connections", type=int, default=16)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--list-cache", type=int, default=512)
    ap.add_argument("--pg-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    ap.add_argument("--work", type=Path, default=Path("/tmp/mediashelf-bench-limiter"))
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "limiter.json")
    args = ap.parse_args()
    preflight([args.backend], {"pocketbase", "upload"}, args.pg_url)
    data = args.work / f"{args.backend}-{args.n}"
    if data.exists():
        shutil.rmtree(data)
    data.mkdir(parents=True)
    if args.backend == "postgres":
        name = f"mediashelf_bench_limiter_{args.n}"
        pg_admin(args.pg_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        pg_admin(args.pg_url, f'CREATE DATABASE "{name}"')
        db_url = args.pg_url.rpartition("/")[0] + "/" + name
    else:
        db_url = f"sqlite:///{data / 'mediashelf.db'}"
    services = filler.open_library(data, db_url)
    lib = filler.fill(services, args.n)
    services.close()
    key = lib.keys[filler.TENANTS[0]]
    servers: dict[str, Server] = {}
    rounds: dict[str, list[dict[str, Any]]] = {"off": [], "on": []}
    try:
        for label, env in (("off", OFF), ("on", ON)):
            servers[label] = start_server(data, db_url, key, args.workers, args.list_cache,
                                          args.work / f"server-{label}.log", args.connections,
                                          env=env)
        for _ in range(args.rounds):
            for label, server in servers.items():
                rounds[label].append(wrk(server.url + "/v1/assets", key, args.duration,
                                         args.connections))
    finally:
        for server in servers.values():
            server.stop()
    off, on = median_round(rounds["off"]), median_round(rounds["on"])
    ratio = on["rps"] / off["rps"]
    result = {"command": " ".join(["python -m bench.limiter", *sys.argv[1:]]),
              "finished": time.strftime("%Y-%m-%d %H:%M:%S %Z"), "n": args.n,
              "backend": args.backend, "path": "/v1/assets", "limiter_off": off,
              "limiter_on": on, "on_over_off": round(ratio, 4), "settings_on": ON,
              "settings_off": OFF}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1))
    print(f"default listing, N={args.n:,} on {args.backend}, cache on: limiter off "
          f"{off['rps']:.0f} req/s, on {on['rps']:.0f} req/s: {ratio:.3f} of off "
          f"(rounds off {off['rounds_rps']}, on {on['rounds_rps']})")


if __name__ == "__main__":
    main()

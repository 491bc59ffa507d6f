"""What the rate limiter costs: `python -m bench.limiter --n 10000 --backend sqlite`.

One library, two servers on it side by side, as production runs them (`serve --no-worker
--workers 2`, the listing cache on): one with no limits at all (no budgets, wrong keys not
counted), one with read budgets too large to ever refuse, per key and per tenant (`--budgets
both`) or per key alone, plus the default wrong-key limit. Every round loads the default
listing on both, back to back, in turns (off first, then on first), and the ratio reported is
the median of the rounds' on/off ratios; beside it, the servers' CPU time per request (off over
on), which load from other programs on the machine disturbs much less.
Writes bench/results/limiter.json.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from bench import fill as filler
from bench.run import ROOT, Server, make_library, median_round, preflight, start_server, wrk

OFF = {"MEDIASHELF_AUTH_FAILURE_LIMIT": "off"}
KEY = {"MEDIASHELF_RATE_LIMIT_READS": "100000000000/minute"}
BOTH = {**KEY, "MEDIASHELF_TENANT_RATE_LIMIT_READS": "100000000000/minute"}


def cpu_seconds(pid: int) -> float:
    """CPU time used so far by a process and its descendants (the API processes of `serve`)."""
    total, todo = 0.0, [pid]
    while todo:
        current = todo.pop()
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
            for task in Path(f"/proc/{current}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except OSError:  # gone meanwhile
            continue
    return total


def run_case(server: Server, key: str, args: argparse.Namespace) -> dict[str, Any]:
    """One wrk run, with the server's CPU time per request (steadier than req/s on a shared
    machine: other load slows the clock, not the work a request takes)."""
    before = cpu_seconds(server.pid)
    res = wrk(server.url + "/v1/assets", key, args.duration, args.connections)
    res["cpu_us_per_request"] = (cpu_seconds(server.pid) - before) / max(1, res["requests"]) * 1e6
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n", type=int, default=10_000, help="library size")
    ap.add_argument("--backend", default="sqlite", choices=["sqlite", "postgres"])
    ap.add_argument("--duration", type=int, default=3, help="seconds per wrk run")
    ap.add_argument("--rounds", type=int, default=25)
    ap.add_argument("--connections", type=int, default=16)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--list-cache", type=int, default=512)
    ap.add_argument("--pg-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    ap.add_argument("--work", type=Path, default=Path("/tmp/mediashelf-bench-limiter"))
    ap.add_argument("--budgets", choices=["key", "both"], default="both",
                    help="read budgets of the 'on' server: per key, or per key and per tenant")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "limiter.json")
    args = ap.parse_args()
    preflight([args.backend], {"pocketbase", "upload"}, args.pg_url)
    data, db_url, lib = make_library(args.backend, args.n, args.pg_url, args.work, "limiter")
    key = lib.keys[filler.TENANTS[0]]
    servers: dict[str, Server] = {}
    rounds: dict[str, list[dict[str, Any]]] = {"off": [], "on": []}
    try:
        on_env = BOTH if args.budgets == "both" else KEY
        for label, env in (("off", OFF), ("on", on_env)):
            servers[label] = start_server(data, db_url, key, args.workers, args.list_cache,
                                          args.work / f"server-{label}.log", args.connections,
                                          env=env)
        for i in range(args.rounds):  # off, on, then on, off: a drift in load hits both
            for label in ("off", "on") if i % 2 == 0 else ("on", "off"):
                rounds[label].append(run_case(servers[label], key, args))
    finally:
        for server in servers.values():
            server.stop()
    off, on = median_round(rounds["off"]), median_round(rounds["on"])
    # each round's pair ran back to back: the median of their ratios is the less noisy figure
    pairs = sorted(a["rps"] / b["rps"] for a, b in zip(rounds["on"], rounds["off"], strict=True))
    ratio = pairs[len(pairs) // 2]
    cpu = sorted(b["cpu_us_per_request"] / a["cpu_us_per_request"]
                 for a, b in zip(rounds["on"], rounds["off"], strict=True))
    cpu_ratio = cpu[len(cpu) // 2]  # off's CPU per request over on's: 1.0 is free
    result = {"command": " ".join(["python -m bench.limiter", *sys.argv[1:]]),
              "finished": time.strftime("%Y-%m-%d %H:%M:%S %Z"), "n": args.n,
              "backend": args.backend, "path": "/v1/assets", "limiter_off": off,
              "limiter_on": on, "on_over_off": round(ratio, 4),
              "round_ratios": [round(r, 4) for r in pairs],
              "cpu_per_request_off_over_on": round(cpu_ratio, 4),
              "cpu_round_ratios": [round(r, 4) for r in cpu],
              "load_average": os.getloadavg(), "settings_on": on_env,
              "settings_off": OFF}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1))
    print(f"default listing, N={args.n:,} on {args.backend}, cache on: limiter off "
          f"{off['rps']:.0f} req/s, on {on['rps']:.0f} req/s (medians); on/off by round "
          f"{[round(r, 3) for r in pairs]}, median {ratio:.3f}; CPU per request off/on by "
          f"round {[round(r, 3) for r in cpu]}, median {cpu_ratio:.3f}")


if __name__ == "__main__":
    main()

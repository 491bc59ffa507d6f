"""Search, tag filter and sort=name at page 1 and at the last page, uncached, PocketBase side by
side with its equivalent filters: `python -m bench.search --n 10000 --backends sqlite,postgres`.

The rows are bench/fill.py's, whose names carry a rare word (0.1 % of the rows), a common one
(30 %) and a tag (5 %). Each case is checked first: our X-Total-Count must equal the rows the
fill counted. Writes bench/results/search.json and docs/performance-search.md.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from bench import fill as filler
from bench import pocketbase as pb
from bench.run import (
    ROOT,
    free_port,
    machine,
    make_library,
    median_round,
    preflight,
    sequential,
    start_server,
)
from bench.run import wrk as run_wrk
from mediashelf.domain import SYSTEM_TENANT_ID

# case -> (our parameters, PocketBase's extra filter, its sort, the fill's label for the total)
CASES: dict[str, tuple[str, str, str, str | None]] = {
    "q_rare": (f"q={filler.RARE_WORD}", f"name ~ '{filler.RARE_WORD}'", "-created,-id",
               filler.RARE_WORD),
    "q_common": (f"q={filler.COMMON_WORD}", f"name ~ '{filler.COMMON_WORD}'", "-created,-id",
                 filler.COMMON_WORD),
    "tag": (f"tag={filler.TAG}", f"tags ~ '{filler.TAG}'", "-created,-id", f"#{filler.TAG}"),
    "sort_name": ("sort=name", "", "name,id", None),
}


def expected_total(lib: filler.Library, label: str | None) -> int:
    """READY rows of the first tenant and of the system library with the label (None: all)."""
    owners = (str(lib.tenant_ids[filler.TENANTS[0]]), str(SYSTEM_TENANT_ID))
    if label is None:
        return sum(n for (o, _t, s), n in lib.counts.items() if o in owners and s == "READY")
    return sum(lib.labelled.get((o, "READY", label), 0) for o in owners)


def ours(backend: str, n: int, args: argparse.Namespace, work: Path) -> dict[str, Any]:
    data, db_url, lib = make_library(backend, n, args.pg_url, work, "search")
    key = lib.keys[filler.TENANTS[0]]
    server = start_server(data, db_url, key, args.workers, 0, work / "search-server.log",
                          args.connections)
    out: dict[str, Any] = {"fill_seconds": lib.fill_seconds}
    try:
        plan = {}
        for case, (params, _f, _s, label) in CASES.items():
            res = httpx.get(f"{server.url}/v1/assets?{params}", headers={"x-api-key": key},
                            timeout=600)
            total, pages = int(res.headers["X-Total-Count"]), int(res.headers["X-Total-Pages"])
            want = expected_total(lib, label)
            if total != want:
                raise SystemExit(f"{backend} {case}: X-Total-Count {total}, the fill has {want}")
            out[case] = {"total": total, "exact": True}
            plan[f"{case}_page1"] = f"/v1/assets?{params}"
            plan[f"{case}_last"] = f"/v1/assets?{params}&page={max(1, pages)}"
        out.update(_load(server.url, key, plan, args))
    finally:
        server.stop()
    return out


def _load(base: str, key: str, plan: dict[str, str], args: argparse.Namespace
          ) -> dict[str, Any]:
    rounds: dict[str, list[dict[str, Any]]] = {name: [] for name in plan}
    for _ in range(args.rounds):
        for name, path in plan.items():
            rounds[name].append(run_wrk(base + path, key, args.duration, args.connections))
    out = {}
    for name, path in plan.items():
        out[name] = median_round(rounds[name])
        if out[name]["requests"] == 0:  # slower than a whole wrk run: time a few alone
            out[name] = sequential(base + path) if not key else _sequential_keyed(
                base + path, key)
        out[name]["path"] = path
        print(f"    {name:24} {out[name]['rps']:9.1f} req/s  p50 "
              f"{out[name]['p50_us'] / 1000:8.2f} ms", flush=True)
    return out


def _sequential_keyed(url: str, key: str, times: int = 3) -> dict[str, Any]:
    spent = []
    for _ in range(times):
        t = time.perf_counter()
        httpx.get(url, headers={"x-api-key": key}, timeout=600).raise_for_status()
        spent.append(time.perf_counter() - t)
    p50 = sorted(spent)[len(spent) // 2]
    return {"requests": times, "duration_us": int(sum(spent) * 1e6), "p50_us": int(p50 * 1e6),
            "p99_us": int(max(spent) * 1e6), "errors": 0, "non2xx": 0, "rps": 1 / p50,
            "sequential": True}


def pocketbase(n: int, args: argparse.Namespace, work: Path) -> dict[str, Any]:
    side = pb.PocketBase(work / f"search-pocketbase-{n}", free_port())
    (work / f"search-pocketbase-{n}").mkdir(parents=True, exist_ok=True)
    setup = side.setup(n, seed=6)
    try:
        tenant, plan = setup["tenant"], {}
        for case, (_p, extra, sort, _label) in CASES.items():
            total = pb.total(side.url, pb.query(tenant, ["READY"], None, 1, 20, False, extra,
                                                sort))
            last = max(1, math.ceil(total / 20))
            for suffix, page in (("page1", 1), ("last", last)):
                for skip in (False, True):
                    name = f"{case}_{suffix}" + ("_skiptotal" if skip else "")
                    plan[name] = pb.query(tenant, ["READY"], None, page, 20, skip, extra, sort)
        print(f"  pocketbase N={n:,}: filled in {setup['fill_seconds']:.1f} s", flush=True)
        return _load(side.url, "", plan, args)
    finally:
        side.stop()


def table(results: dict[str, Any]) -> str:
    """The page: every case, its ratios to PocketBase and last page ÷ page 1."""
    lines = ["# Search, tags and sort: benchmark", "",
             f"`{results['command']}`, {results['started']}; uncached "
             "(`MEDIASHELF_LIST_CACHE=0`), the first tenant's listing (its own and the system "
             "library's READY assets), 20 per page. Targets: ≥ 20 x PocketBase's req/s with "
             "totals, ≥ 1 x with `skipTotal=1`, our totals exact, last page ≤ 3 x page 1.", ""]
    for key, run in results["runs"].items():
        backend, n = key.split("-")
        p = results["pocketbase"].get(n, {})
        lines += [f"## {backend}, N = {int(n):,}", "",
                  "| case | total (exact) | req/s | p50 ms | ÷ PB totals | ÷ PB skipTotal "
                  "| last p50 ÷ page 1 p50 |", "|---|---|---|---|---|---|---|"]
        for case in CASES:
            first = run[f"{case}_page1"]
            for suffix in ("page1", "last"):
                r = run[f"{case}_{suffix}"]
                pt, ps = p.get(f"{case}_{suffix}"), p.get(f"{case}_{suffix}_skiptotal")
                vs = f"{r['rps'] / pt['rps']:.1f}" if pt else "-"
                vs_skip = f"{r['rps'] / ps['rps']:.2f}" if ps else "-"
                last = (f"{r['p50_us'] / first['p50_us']:.2f}" if suffix == "last" else "")
                lines.append(f"| {case} {suffix} | {run[case]['total']:,} | {r['rps']:,.1f} | "
                             f"{r['p50_us'] / 1000:.2f} | {vs} | {vs_skip} | {last} |")
        lines.append("")
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n", type=int, action="append", help="library sizes (repeatable)")
    ap.add_argument("--backends", default="sqlite,postgres")
    ap.add_argument("--duration", type=int, default=3)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--connections", type=int, default=16)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--pg-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    ap.add_argument("--work", type=Path, default=Path("/tmp/mediashelf-bench"))
    ap.add_argument("--skip", default="", help="pocketbase, to leave it out")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "search.json")
    ap.add_argument("--doc", type=Path, default=ROOT / "docs" / "performance-search.md")
    args = ap.parse_args()
    sizes, backends = args.n or [10_000], args.backends.split(",")
    preflight(backends, set(filter(None, args.skip.split(","))) | {"upload"}, args.pg_url)
    args.work.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {"command": " ".join(["python -m bench.search", *sys.argv[1:]]),
                               "started": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
                               "machine": machine(), "runs": {}, "pocketbase": {}}
    for backend in backends:
        for n in sizes:
            results["runs"][f"{backend}-{n}"] = ours(backend, n, args, args.work)
    if "pocketbase" not in args.skip:
        for n in sizes:
            results["pocketbase"][str(n)] = pocketbase(n, args, args.work)
    results["finished"] = time.strftime("%Y-%m-%d %H:%M:%S %Z")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=1))
    args.doc.write_text(table(results))
    print(f"wrote {args.out} and {args.doc}")


if __name__ == "__main__":
    main()

"""Resumable against plain uploads: one file sent with tus in 8 MiB chunks (the SDK's client)
and as one multipart POST (curl), to the same server in the same run; the server's memory
growth during the tus upload. Targets: tus at least 0.8 times the multipart throughput, and
a memory growth of at most 64 MB.

    python -m bench.tus --size 1GiB          # alone; `python -m bench.run` runs it too
    python -m bench.tus --into bench/results/latest.json   # and into the report
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

from bench import fill as filler
from bench.ingest import _rss_kb
from bench.run import ROOT, merge_into, start_server
from mediashelf.settings import parse_size
from mediashelf_client import Client

CHUNK = 8 * 2**20
DOC = ROOT / "docs" / "performance.md"


def _file(path: Path, size: int) -> Path:
    if not path.exists() or path.stat().st_size != size:
        with open(path, "wb") as fh:
            block = os.urandom(1 << 20)
            for _ in range(size >> 20):
                fh.write(block)
    subprocess.run(["sync"], check=False)
    return path


def tus_case(work: Path, size: int) -> dict[str, Any]:
    data = work / "tus-library"
    if data.exists():
        shutil.rmtree(data)
    db = f"sqlite:///{data / 'mediashelf.db'}"
    services = filler.open_library(data, db)
    key, _ = services.keys.create("uploader")
    services.close()
    src = _file(work / "tus-big.bin", size)
    server = start_server(data, db, key, 1, 0, work / "tus-server.log")
    try:
        pid = server.pid
        before = _rss_kb(pid, "VmRSS")
        with Client(server.url, key, tus_threshold=1, tus_chunk_size=CHUNK,
                    timeout=300) as client:
            t = time.perf_counter()
            client.upload(src, name="big-tus", type="VIDEO")
            tus_s = time.perf_counter() - t
        tus_peak = _rss_kb(pid, "VmHWM")
        t = time.perf_counter()
        res = subprocess.run(
            ["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "-H",
             f"x-api-key: {key}", "-F", f"file=@{src};type=video/mp4", "-F", "type=VIDEO",
             "-F", "name=big-multipart", "-F", "dedupe=false",  # the same bytes: keep both
             f"{server.url}/v1/assets"],
            capture_output=True, text=True)
        multipart_s = time.perf_counter() - t
    finally:
        server.stop()
    return {"bytes": size, "chunk": CHUNK, "multipart_status": res.stdout.strip(),
            "tus_s": tus_s, "multipart_s": multipart_s,
            "tus_mb_s": size / tus_s / 1e6, "multipart_mb_s": size / multipart_s / 1e6,
            "ratio": multipart_s / tus_s, "rss_before_mb": before / 1024,
            "tus_rss_growth_mb": (tus_peak - before) / 1024}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--size", default="1GiB", help="file size (default 1GiB)")
    ap.add_argument("--work", type=Path, default=Path("/tmp/mediashelf-bench"))
    ap.add_argument("--into", type=Path, default=None,
                    help="also put the result into this results file (bench/results/"
                         "latest.json) and write docs/performance.md again")
    args = ap.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    result = tus_case(args.work, parse_size(args.size))
    print(json.dumps(result, indent=2))
    if args.into:
        merge_into(args.into, "tus", result, DOC)
    ok = result["ratio"] >= 0.8 and result["tus_rss_growth_mb"] <= 64
    print("targets met" if ok else "targets missed: tus at least 0.8x multipart, growth ≤ 64 MB")


if __name__ == "__main__":
    main()

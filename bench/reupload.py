"""Re-uploading a folder the library already holds, against uploading it the first time.

    .venv/bin/python -m bench.reupload [--files 200] [--size-kb 1024] [--json out.json]

A real server (`mediashelf serve --no-worker`, SQLite and local files, or PostgreSQL with
--database-url) and the SDK's `Client.upload_dir` on a folder of distinct files (a PNG
signature, then random bytes: the server stores them as images; no worker decodes them, so the
first upload is timed without processing competing for the cores). Three timings:

- first: hash every file, ask the library (?sha256=, 50 digests a request), upload each;
- again: the same folder, every file already held: digests from the client's cache, the same
  questions, nothing sent (the target is at most 0.05 x first);
- again, cold: the same, with an empty digest cache (every file read and hashed again), as a
  first run on another machine would be.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

from bench import fill
from bench.run import ROOT, merge_into, start_server
from mediashelf_client import Client

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def make_folder(folder: Path, files: int, size: int) -> None:
    folder.mkdir(parents=True)
    for i in range(files):
        (folder / f"clip{i:03d}.png").write_bytes(PNG_SIGNATURE + os.urandom(size - 8))


def timed_upload(client: Client, folder: Path, cache: Path) -> tuple[float, dict[str, int]]:
    os.environ["MEDIASHELF_CACHE_DIR"] = str(cache)
    started = time.perf_counter()
    result = client.upload_dir(folder)
    seconds = time.perf_counter() - started
    counts = {"uploaded": len(result.uploaded), "skipped": len(result.skipped),
              "failed": len(result.failed)}
    return seconds, counts


def run(files: int, size: int, work: Path, database_url: str | None) -> dict[str, object]:
    if work.exists():
        shutil.rmtree(work)
    data, folder = work / "data", work / "folder"
    db_url = database_url or f"sqlite:///{data / 'mediashelf.db'}"
    services = fill.open_library(data, db_url)
    key, _ = services.keys.create("reuploader")
    services.close()
    make_folder(folder, files, size)
    server = start_server(data, db_url, key, 1, 512, work / "server.log")
    try:
        with Client(server.url, key, timeout=120) as client:
            first, first_counts = timed_upload(client, folder, work / "cache")
            again, again_counts = timed_upload(client, folder, work / "cache")
            cold, cold_counts = timed_upload(client, folder, work / "cache-cold")
    finally:
        server.stop()
    assert first_counts == {"uploaded": files, "skipped": 0, "failed": 0}, first_counts
    assert again_counts == cold_counts == {"uploaded": 0, "skipped": files, "failed": 0}
    return {"files": files, "file_bytes": size, "first_s": round(first, 3),
            "again_s": round(again, 4), "again_cold_cache_s": round(cold, 4),
            "ratio": round(again / first, 4), "ratio_cold_cache": round(cold / first, 4),
            "target_ratio": 0.05, "database": db_url.split(":")[0]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--files", type=int, default=200)
    ap.add_argument("--size-kb", type=int, default=1024, help="size of each file, KiB")
    ap.add_argument("--database-url", default=None, help="default: SQLite in the work folder")
    ap.add_argument("--work", type=Path,
                    default=Path(tempfile.gettempdir()) / "mediashelf-bench-reupload")
    ap.add_argument("--json", type=Path, default=None, help="also write the result here")
    ap.add_argument("--into", type=Path, default=None,
                    help="also put the result into this results file (bench/results/"
                         "latest.json) and write docs/performance.md again")
    args = ap.parse_args()
    result = run(args.files, args.size_kb * 1024, args.work, args.database_url)
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    if args.into:
        merge_into(args.into, "reupload", result, ROOT / "docs" / "performance.md")
    shutil.rmtree(args.work, ignore_errors=True)


if __name__ == "__main__":
    main()

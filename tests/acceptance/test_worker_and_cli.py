"""The commands of INTERFACE.md, roles, a killed worker, delete → restore → purge, limits."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from tests.support.server import Server, upload, wait_for

MakeServer = Callable[..., Server]


@contextmanager
def stalling_file_server(payload: bytes) -> Iterator[tuple[str, threading.Event, list[int]]]:
    """Serves payload; the first request sends a few bytes, then stalls until released."""
    arrived = threading.Event()
    release = threading.Event()
    hits: list[int] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hits.append(1)
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            if len(hits) == 1:
                self.wfile.write(payload[:10])
                self.wfile.flush()
                arrived.set()
                release.wait(60)
                return
            self.wfile.write(payload)

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_port}/pic.png", arrived, hits
    finally:
        release.set()
        httpd.shutdown()
        httpd.server_close()


def _worker(api: Server) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "mediashelf", "worker"], env=api.env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _scratch_left(api: Server) -> list[Path]:
    """Scratch entries in the data dir: partial local files, or S3 objects' decoding copies."""
    return [p for d in ("files/.tmp", "scratch") if (api.data_dir / d).is_dir()
            for p in (api.data_dir / d).iterdir()]


def _kill_a_worker_mid_download(api: Server, client: httpx.Client, asset_id: str,
                                arrived: threading.Event) -> dict[str, object]:
    """SIGKILL a worker once it is downloading the asset; a second one takes the job over and
    sweeps what the first left (with MEDIASHELF_UPLOAD_LEASE short, it sweeps every second)."""
    first = _worker(api)
    assert arrived.wait(30), "the worker never started the download"
    first.send_signal(signal.SIGKILL)  # in the middle of the job
    first.wait()
    second = _worker(api)
    try:
        done = wait_for(client, asset_id, timeout=60)
        deadline = time.monotonic() + 30
        while _scratch_left(api) and time.monotonic() < deadline:
            time.sleep(0.3)
        assert _scratch_left(api) == []
        return done
    finally:
        second.send_signal(signal.SIGTERM)
        assert second.wait(30) == 0


def test_a_worker_killed_mid_job_does_not_lose_the_asset(
        make_server: MakeServer, media: dict[str, Path], request: pytest.FixtureRequest) -> None:
    env = {"MEDIASHELF_ALLOW_PRIVATE_URLS": "true", "MEDIASHELF_JOB_LEASE": "2s",
           "MEDIASHELF_UPLOAD_LEASE": "2s"}
    api = make_server(env, args=("--no-worker",))
    client = api.client(api.new_key("crashy"))
    request.addfinalizer(client.close)
    payload = media["png"].read_bytes()
    with stalling_file_server(payload) as (url, arrived, hits):
        created = client.post("/v1/assets", json={"name": "pic", "type": "IMAGE", "url": url})
        assert created.status_code == 201, created.text
        time.sleep(1)
        assert client.get(f"/v1/assets/{created.json()['id']}").json()["status"] == "PROCESSING"

        done = _kill_a_worker_mid_download(api, client, created.json()["id"], arrived)
    assert done["status"] == "READY", done
    assert len(hits) == 2
    assert httpx.get(done["fileUrl"]).content == payload


def test_a_job_that_keeps_killing_workers_ends_failed(
        make_server: MakeServer, media: dict[str, Path], request: pytest.FixtureRequest) -> None:
    env = {"MEDIASHELF_ALLOW_PRIVATE_URLS": "true", "MEDIASHELF_JOB_LEASE": "1s",
           "MEDIASHELF_JOB_MAX_ATTEMPTS": "1", "MEDIASHELF_UPLOAD_LEASE": "2s"}
    api = make_server(env, args=("--no-worker",))
    client = api.client(api.new_key("doomed"))
    request.addfinalizer(client.close)
    with stalling_file_server(media["png"].read_bytes()) as (url, arrived, _hits):
        created = client.post("/v1/assets", json={"name": "pic", "type": "IMAGE", "url": url})
        done = _kill_a_worker_mid_download(api, client, created.json()["id"], arrived)
    assert done["status"] == "FAILED"
    assert done["failureReason"] == "processing failed after 1 attempt"


def test_delete_restore_and_purge(make_server: MakeServer, media: dict[str, Path],
                                  request: pytest.FixtureRequest) -> None:
    srv = make_server({"MEDIASHELF_PURGE_AFTER": "10s"})
    client = srv.client(srv.new_key("undo"))
    request.addfinalizer(client.close)
    ready = wait_for(client, upload(client, media["png"])["id"])
    aid = ready["id"]
    assert client.delete(f"/v1/assets/{aid}").status_code == 200
    assert httpx.get(ready["fileUrl"]).status_code in (403, 404)  # S3 says 403 for no key
    assert client.get("/v1/assets").headers["X-Total-Count"] == "0"

    out = srv.cli("assets", "restore", aid)
    assert aid in out.stdout
    assert client.get(f"/v1/assets/{aid}").json()["status"] == "READY"
    assert httpx.get(ready["fileUrl"]).content == media["png"].read_bytes()
    assert client.get("/v1/assets").headers["X-Total-Count"] == "1"

    assert client.delete(f"/v1/assets/{aid}").status_code == 200
    storage = srv.services.storage

    def leftovers() -> list[str]:
        return [*storage.list_keys(f"trash/{aid}/"), *storage.list_keys(f"assets/{aid}/")]

    deadline = time.monotonic() + 60
    while leftovers() and time.monotonic() < deadline:
        time.sleep(0.3)
    assert leftovers() == []
    gone = srv.cli("assets", "restore", aid, check=False)
    library, error = gone.stderr.strip().splitlines()  # which library, then the one error
    assert gone.returncode == 1 and library.startswith("library: ") and error.startswith("error: ")


def test_uploads_over_the_limit_are_refused_and_leave_nothing(
        make_server: MakeServer, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    srv = make_server({"MEDIASHELF_MAX_IMAGE_BYTES": "2000", "MEDIASHELF_MAX_AUDIO_BYTES": "3kb"})
    client = srv.client(srv.new_key("big"))
    request.addfinalizer(client.close)
    from tests.support import samples

    big = samples.png(tmp_path / "big.png", size=(400, 400))
    noisy = tmp_path / "noisy.png"
    from PIL import Image

    Image.effect_noise((200, 200), 80).save(noisy)
    assert noisy.stat().st_size > 2000
    for fields in ({"type": "IMAGE"}, {}):
        with open(noisy, "rb") as fh:
            res = client.post("/v1/assets", files={"file": ("n.png", fh)}, data=fields)
        assert res.status_code == 413, res.text
        assert res.json() == {"code": 413, "message": "file larger than 2 kB"}
    assert big.stat().st_size < 2000
    assert wait_for(client, upload(client, big)["id"])["status"] == "READY"
    stored = list(srv.services.storage.list_keys(""))
    assert len(stored) == 2, stored  # the one accepted upload: original + thumbnail
    assert client.get("/v1/assets", params={"status": ["PROCESSING", "READY", "FAILED"]}
                      ).headers["X-Total-Count"] == "1"


def test_a_large_upload_streams_without_growing_server_memory(server: Server,
                                                              client: httpx.Client) -> None:
    pid = _server_pid(server)
    before = _rss_kb(pid)
    size = 300 * 1024 * 1024
    block = os.urandom(1 << 20)

    def body() -> Iterator[bytes]:
        for _ in range(size // len(block)):
            yield block

    boundary = "streamtestboundary"
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"type\"\r\n\r\nVIDEO\r\n"
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; "
            f"filename=\"big.mp4\"\r\nContent-Type: video/mp4\r\n\r\n").encode()
    tail = f"\r\n--{boundary}--\r\n".encode()

    def stream() -> Iterator[bytes]:
        yield head
        yield from body()
        yield tail

    res = client.post("/v1/assets", content=stream(), headers={
        "content-type": f"multipart/form-data; boundary={boundary}"}, timeout=120)
    assert res.status_code == 201, res.text
    assert res.json()["sizeBytes"] == size
    grown_mb = (_rss_kb(pid) - before) / 1024
    assert grown_mb < 64, f"server memory grew by {grown_mb:.0f} MB for a 300 MB upload"
    done = wait_for(client, res.json()["id"])
    assert done["status"] == "FAILED" and done["failureReason"]  # random bytes are no video


def _server_pid(server: Server) -> int:
    assert server.proc is not None
    return server.proc.pid


def _rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def _stat(path: Path) -> list[str]:
    """/proc's stat fields after the command's name (state is [0], ppid [1], nice [16])."""
    return path.read_text().rpartition(")")[2].split()


def _processes() -> dict[int, tuple[int, int, str]]:
    """Every process: its parent, its nice value and its command line."""
    found = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = _stat(entry / "stat")
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:  # gone meanwhile
                continue
            found[int(entry.name)] = (int(fields[1]), int(fields[16]), cmdline)
    return found


def test_background_work_yields_the_cpu_to_requests(make_server: MakeServer,
                                                    media: dict[str, Path]) -> None:
    """With several API processes, the embedded worker runs in the supervising process: its job
    threads run at nice 10 on PostgreSQL (not on SQLite, whose one write lock a preempted
    thread would hold), its decoders at nice 10 on both; the API processes stay at 0."""
    srv = make_server(args=("--workers", "2"))
    with srv.client(srv.new_key("nice")) as client:
        assert wait_for(client, upload(client, media["jpeg"])["id"])["status"] == "READY"
    pid = _server_pid(srv)
    threads = {int(t.name): int(_stat(t / "stat")[16])
               for t in Path(f"/proc/{pid}/task").iterdir()}
    lowered = sorted(tid for tid, nice in threads.items() if nice >= 10)
    assert threads[pid] == 0
    if srv.backend.startswith("postgres"):
        assert lowered, threads  # the job threads
    else:
        assert not lowered, threads
    procs = _processes()
    children = {p for p, (parent, _, _) in procs.items() if parent == pid}
    servers = [p for p in children if "forkserver" not in procs[p][2]
               and procs[p][1] < 10]  # the API processes (a deliverer would be at 10)
    assert len(servers) >= 2 and all(procs[p][1] == 0 for p in servers), procs
    forkservers = {p for p in children if "forkserver" in procs[p][2]}
    decoders = [p for p, (parent, _, _) in procs.items() if parent in forkservers]
    assert decoders and all(procs[p][1] >= 10 for p in decoders), procs


def test_commands_exit_codes_and_one_line_errors(tmp_path: Path) -> None:
    env = {**os.environ, "MEDIASHELF_DATA_DIR": str(tmp_path / "d")}

    def run(*args: str, **extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "mediashelf", *args], capture_output=True,
                              text=True, env={**env, **extra}, timeout=60)

    migrated = run("migrate")
    assert migrated.returncode == 0
    assert re.fullmatch(r"database schema at revision \d{4}\n", migrated.stdout)
    created = run("keys", "create", "--tenant", "acme")
    assert created.returncode == 0 and created.stdout.strip().splitlines()[-1].startswith("msk_")
    bad = run("keys", "list", MEDIASHELF_MAX_IMAGE_BYTES="lots")
    assert bad.returncode == 2
    assert bad.stderr.strip().splitlines() == [
        "error: MEDIASHELF_MAX_IMAGE_BYTES: expected a size such as 50MB, 2GB or a number "
        "of bytes"]
    bad_db = run("migrate", MEDIASHELF_DATABASE_URL="mysql://x")
    assert bad_db.returncode == 2 and "MEDIASHELF_DATABASE_URL" in bad_db.stderr
    assert len(bad_db.stderr.strip().splitlines()) == 1
    reserved = run("keys", "create", "--tenant", "System")
    assert reserved.returncode == 1 and "reserved" in reserved.stderr
    unknown = run("keys", "revoke", "msk_nope")
    assert unknown.returncode == 1
    data = tmp_path / "d"
    assert unknown.stderr.splitlines() == [
        f"library: sqlite:///{data / 'mediashelf.db'}, files in {data / 'files'}",
        "error: no such key"]
    restore = run("assets", "restore", "not-an-id")
    assert restore.returncode == 1 and "not an asset id" in restore.stderr
    missing = run("system", "import", str(tmp_path / "nope.mp3"))
    assert missing.returncode == 2
    for cmd in (["--help"], ["serve", "--help"], ["worker", "--help"], ["keys", "--help"],
                ["system", "import", "--help"], ["assets", "restore", "--help"]):
        assert run(*cmd).returncode == 0


def test_serve_seeds_the_music_library_once(make_server: MakeServer,
                                            request: pytest.FixtureRequest) -> None:
    srv = make_server({"MEDIASHELF_SEED_MUSIC": "true"})
    client = srv.client(srv.new_key("listener"))
    request.addfinalizer(client.close)
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        res = client.get("/v1/assets", params={"type": "AUDIO"})
        if int(res.headers["X-Total-Count"]) >= 8:
            break
        time.sleep(0.5)
    tracks = res.json()
    assert len(tracks) >= 8 and all(t["isSystem"] for t in tracks)
    assert len({t["name"] for t in tracks}) == len(tracks)
    for t in tracks:
        assert 30_000 <= t["durationMs"] <= 120_000 and t["thumbnailUrl"]
    srv.stop()
    srv.start()
    with srv.client(srv.new_key("again")) as again:
        listed = again.get("/v1/assets", params={"type": "AUDIO"})
    assert listed.headers["X-Total-Count"] == str(len(tracks))


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_serve_stops_cleanly(make_server: MakeServer, sig: int) -> None:
    srv = make_server()
    assert srv.stop(sig) == 0

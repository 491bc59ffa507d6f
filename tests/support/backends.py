"""The backends a test server can run on, and the real services behind them.

`sqlite-local` is the embedded default (nothing to provide). `postgres-s3` gives every server a
fresh PostgreSQL database on 127.0.0.1:5432 and a fresh bucket on a moto S3 server started once
per test session on loopback; both are removed at teardown.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

import httpx

from tests.support.server import free_port

ALL = ("sqlite-local", "postgres-s3")
PG_ADMIN_URL = os.environ.get("MEDIASHELF_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
AWS_ENV = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
           "AWS_DEFAULT_REGION": "us-east-1", "AWS_SESSION_TOKEN": "testing"}


def selected() -> list[str]:
    """The backends to run, from MEDIASHELF_TEST_BACKENDS (default: all of them)."""
    raw = os.environ.get("MEDIASHELF_TEST_BACKENDS", ",".join(ALL))
    names = [n.strip() for n in raw.split(",") if n.strip()]
    unknown = set(names) - set(ALL)
    if unknown:
        raise ValueError(f"MEDIASHELF_TEST_BACKENDS: unknown {sorted(unknown)}; known {ALL}")
    return names


# --- PostgreSQL -------------------------------------------------------------------------------

def _admin() -> Any:
    import psycopg

    return psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=5)


def pg_url(name: str) -> str:
    base, _, _ = PG_ADMIN_URL.rpartition("/")
    return f"{base}/{name}"


@contextmanager
def pg_database() -> Iterator[str]:
    """A fresh, empty database for one server or test; dropped (even if in use) afterwards."""
    name = f"ms_{uuid.uuid4().hex[:16]}"
    try:
        with _admin() as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
    except Exception as exc:
        raise RuntimeError(
            f"PostgreSQL at {PG_ADMIN_URL} is needed for the postgres-s3 backend ({exc}); start "
            "it or set MEDIASHELF_TEST_BACKENDS=sqlite-local") from exc
    try:
        yield pg_url(name)
    finally:
        with _admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# --- S3 (moto's standalone server) ------------------------------------------------------------

class MotoServer:
    """moto's S3 server on a free loopback port, checking presigned URLs (s3_endpoint.py)."""

    def __init__(self, log_path: Path) -> None:
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 30) -> MotoServer:
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, str(Path(__file__).with_name("s3_endpoint.py")),
                 "-H", "127.0.0.1", "-p", str(self.port)],
                stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **AWS_ENV})
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"moto server exited: {self.log_path.read_text()[-2000:]}")
            try:
                httpx.get(self.endpoint + "/moto-api/", timeout=1)
                return self
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError("moto server did not come up")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def client(self) -> Any:
        import boto3

        return boto3.client("s3", endpoint_url=self.endpoint, region_name="us-east-1",
                            aws_access_key_id="testing", aws_secret_access_key="testing")

    @contextmanager
    def bucket(self) -> Iterator[str]:
        """A fresh bucket, emptied and removed afterwards."""
        name = f"ms-{uuid.uuid4().hex[:16]}"
        with closing(self.client()) as s3:
            s3.create_bucket(Bucket=name)
        try:
            yield name
        finally:
            if self.proc is not None and self.proc.poll() is None:
                with closing(self.client()) as s3:
                    empty_bucket(s3, name)
                    s3.delete_bucket(Bucket=name)


def empty_bucket(s3: Any, bucket: str) -> None:
    for up in s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []):
        s3.abort_multipart_upload(Bucket=bucket, Key=up["Key"], UploadId=up["UploadId"])
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        keys = [{"Key": o["Key"]} for o in page.get("Contents", [])]
        if keys:
            s3.delete_objects(Bucket=bucket, Delete={"Objects": keys})


# --- the backends -----------------------------------------------------------------------------

class Backend:
    """One (database, storage) pair; `provision()` gives the variables of one fresh library."""

    def __init__(self, name: str, tmp: Path) -> None:
        self.name = name
        self.tmp = tmp
        self.moto: MotoServer | None = None
        self._saved_env: dict[str, str | None] = {}

    @property
    def is_s3(self) -> bool:
        return self.name == "postgres-s3"

    @property
    def is_postgres(self) -> bool:
        return self.name == "postgres-s3"

    def start(self) -> Backend:
        if self.is_s3:
            self.moto = MotoServer(self.tmp / "moto.log").start()
            # boto3 clients built inside the test process (Server.services) read these too.
            for k, v in AWS_ENV.items():
                self._saved_env[k] = os.environ.get(k)
                os.environ[k] = v
        return self

    def stop(self) -> None:
        if self.moto is not None:
            self.moto.stop()
            self.moto = None
        for k, old in self._saved_env.items():
            if old is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = old
        self._saved_env.clear()

    @contextmanager
    def provision(self) -> Iterator[dict[str, str]]:
        """MEDIASHELF_* (and AWS_*) variables for one fresh library on this backend."""
        if not self.is_s3:
            yield {}
            return
        assert self.moto is not None, "backend not started"
        with pg_database() as db_url, self.moto.bucket() as bucket:
            yield {"MEDIASHELF_DATABASE_URL": db_url,
                   "MEDIASHELF_STORAGE_URL": f"s3://{bucket}/library",
                   "MEDIASHELF_S3_ENDPOINT_URL": self.moto.endpoint, **AWS_ENV}

"""What the server's commands share: settings, opened services, and the one-line failure."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import unquote, urlsplit

from mediashelf.errors import ConfigError
from mediashelf.settings import Settings, load_settings


class Failure(Exception):
    """A one-line error for the user, and a non-zero exit."""


# the settings a command-line flag can give, and the flag's spelling, to name it in an error
FLAGS = {"host": "--host", "port": "--port", "web_concurrency": "--workers",
         "worker_metrics_port": "--metrics-port"}


def settings_from_env(quiet: bool = True, **flags: Any) -> Settings:
    """Settings from the environment; one-shot commands log only warnings, to keep output clean."""
    from mediashelf import logs, tracing

    settings = load_settings(FLAGS, **flags)
    logs.setup("WARNING" if quiet else settings.log_level, settings.log_format)
    if not quiet:  # the server's commands
        tracing.setup(settings.tracing)
    else:  # a one-shot command serves no metrics: it must not write into serve's shared folder
        os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)
    return settings


def prepare(settings: Settings, *, with_worker: bool, seed: bool, deliver: bool = True) -> Any:
    """Open everything, bring the schema up to date, and make sure the system library exists
    (a worker without the webhook deliverer if `deliver` is false)."""
    from mediashelf.app import build_services
    from mediashelf.db import migrate
    from mediashelf.services.system_library import SystemLibrary

    services = build_services(settings, with_worker=with_worker, deliver=deliver)
    try:
        migrate.upgrade(services.db)
        library = SystemLibrary(services.db, services.assets)
        library.ensure_tenant()
        if seed and settings.seed_music:
            # Rendering the music takes a while the first time: do not hold up the start.
            threading.Thread(target=_seed_music, args=(library,), daemon=True).start()
    except BaseException:
        services.close()
        raise
    return services


def _seed_music(library: Any) -> None:
    try:
        library.seed_music()
    except Exception:
        logging.getLogger("mediashelf.system").exception("music.seed_failed")


def library_line(settings: Settings) -> str:
    """Where the library is: its database and its files, with no password or secret."""
    from sqlalchemy.engine import make_url

    db = make_url(settings.database_url)
    if db.get_backend_name() == "sqlite":
        where = f"sqlite:///{db.database}" if db.database else "sqlite (in memory)"
    else:  # user, host and database only: the password, and options that may carry one, stay out
        user = f"{db.username}@" if db.username else ""
        port = f":{db.port}" if db.port else ""
        where = f"postgresql://{user}{db.host or ''}{port}/{db.database or ''}"
    files = urlsplit(settings.storage_url)
    if files.scheme == "file":
        stored = unquote(files.path)
    else:  # s3://bucket/prefix, without any credentials or options
        stored = f"{files.scheme}://{files.hostname or ''}{files.path}"
    return f"library: {where}, files in {stored}"


def ensure_library(settings: Settings, *, init: bool) -> None:
    """Say which library a command acts on; refuse to create a new one unless init is set."""
    import sys

    from mediashelf.db.migrate import schema_exists

    print(library_line(settings), file=sys.stderr, flush=True)
    if init or schema_exists(settings.database_url):
        return
    what = ("has no library database yet" if settings.database_url.startswith("sqlite")
            else "goes with a database that has no library tables yet")
    raise ConfigError(
        f"no library here: the data directory {settings.data_dir} {what}. Set "
        "MEDIASHELF_DATA_DIR (or MEDIASHELF_DATABASE_URL) to the server's, or pass --init to "
        "create a new library")


@contextmanager
def admin_services(*, init: bool = False) -> Iterator[Any]:
    """Services for a one-shot admin command (no worker) on an existing library (or a new one
    with init), closed when it is done."""
    settings = settings_from_env()
    ensure_library(settings, init=init)
    services = prepare(settings, with_worker=False, seed=False)
    try:
        yield services
    finally:
        services.close()

"""What the server's commands share: settings, opened services, and the one-line failure."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from mediashelf.settings import Settings, load_settings


class Failure(Exception):
    """A one-line error for the user, and a non-zero exit."""


def settings_from_env(quiet: bool = True, **flags: Any) -> Settings:
    """Settings from the environment; one-shot commands log only warnings, to keep output clean."""
    from mediashelf import logs

    settings = load_settings(**flags)
    logs.setup("WARNING" if quiet else settings.log_level)
    return settings


def prepare(settings: Settings, *, with_worker: bool, seed: bool) -> Any:
    """Open everything, bring the schema up to date, and make sure the system library exists."""
    from mediashelf.app import build_services
    from mediashelf.db import migrate
    from mediashelf.services.system_library import SystemLibrary

    services = build_services(settings, with_worker=with_worker)
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


@contextmanager
def admin_services() -> Iterator[Any]:
    """Services for a one-shot admin command (no worker), closed when it is done."""
    services = prepare(settings_from_env(), with_worker=False, seed=False)
    try:
        yield services
    finally:
        services.close()

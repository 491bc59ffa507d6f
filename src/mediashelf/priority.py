"""Background work yields the CPU to requests: on a machine whose cores are all busy, the API's
requests go first and the jobs catch up when it is quieter (an idle machine runs them at full
speed either way: a priority only matters when something else wants the core)."""

from __future__ import annotations

import contextlib
import os
import threading

BACKGROUND_NICE = 10  # the nice value background work runs at, at least


def lower(*, thread: bool) -> None:
    """Run this thread (Linux keeps a nice value per thread) or this whole process at
    BACKGROUND_NICE, unless it already runs lower; where the platform cannot, as it is."""
    with contextlib.suppress(OSError, AttributeError):
        who = threading.get_native_id() if thread else 0
        now = os.getpriority(os.PRIO_PROCESS, who)
        if now < BACKGROUND_NICE:
            os.setpriority(os.PRIO_PROCESS, who, BACKGROUND_NICE)

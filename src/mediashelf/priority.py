"""Background work yields the CPU to requests: on a machine whose cores are all busy, the API's
requests go first and the jobs catch up when it is quieter (an idle machine runs them at full
speed either way: a priority only matters when something else wants the core)."""

from __future__ import annotations

import contextlib
import os
import sys
import threading

BACKGROUND_NICE = 10  # the nice value background work runs at, at least
SHARED_SWITCH_S = 0.0005  # how long a thread waits for the GIL, at most, beside job threads


def lower(*, thread: bool) -> None:
    """Run this thread (Linux keeps a nice value per thread) or this whole process at
    BACKGROUND_NICE, unless it already runs lower; where the platform cannot, as it is."""
    with contextlib.suppress(OSError, AttributeError):
        who = threading.get_native_id() if thread else 0
        now = os.getpriority(os.PRIO_PROCESS, who)
        if now < BACKGROUND_NICE:
            os.setpriority(os.PRIO_PROCESS, who, BACKGROUND_NICE)


def share_the_interpreter() -> None:
    """In an API process that runs jobs too (the embedded worker's threads): a thread that
    wants the GIL asks the holder to let go after SHARED_SWITCH_S rather than Python's 5 ms.
    Between two awaits the event loop needs it only briefly, but a job thread in the middle
    of its Python work held it for the whole interval each time: measured with 10 uploads a
    second, cached reads kept about 0.68 of their rate alone, and about 0.8 with 0.5 ms."""
    if sys.getswitchinterval() > SHARED_SWITCH_S:
        sys.setswitchinterval(SHARED_SWITCH_S)

"""Whole numbers written in ASCII digits, the one way every header, parameter and setting reads.

`str.isdigit()` accepts '²' and the digits of every script, which `int()` then rejects or reads,
and `int()` refuses over 4,300 digits with an error: a bounded ASCII pattern avoids both.
"""

from __future__ import annotations

import re

_DIGITS = re.compile(r"[0-9]{1,18}")  # below 2**63: every size, offset, port and time we read


def ascii_int(text: str) -> int | None:
    """The number `text` spells in 1 to 18 ASCII digits, or None for anything else."""
    return int(text) if _DIGITS.fullmatch(text) else None

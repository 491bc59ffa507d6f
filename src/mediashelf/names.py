"""Asset names: what a name may hold.

A name is stored exactly as given (file names) or trimmed (typed names): any Unicode text of 1
to 256 characters, format characters such as bidi marks included, but no control characters
(C0, DEL, C1: NUL, tab, newline …) and no lone surrogates. Those are refused, not rewritten,
wherever a name enters, so that every backend stores the same thing or nothing.
"""

from __future__ import annotations

import re

from mediashelf.errors import BadRequest

NAME_MAX = 256

_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")


def check_name(value: str, what: str = "'name'", *, trim: bool = True) -> str:
    """The name as it will be stored, or BadRequest saying what is wrong with it."""
    if _CONTROLS.search(value):
        raise BadRequest(f"{what} must not contain control characters (such as NUL, tab or "
                         "newline)")
    if trim:
        value = value.strip()
    if not 1 <= len(value) <= NAME_MAX:
        raise BadRequest(f"{what} must be 1 to {NAME_MAX} characters")
    return value


def check_file_name(value: str | None) -> str | None:
    """A file name, exactly as the client's file system spelled it; None if there is none."""
    if value is None or value in ("", ".", ".."):
        return None
    return check_name(value, "the file name", trim=False)


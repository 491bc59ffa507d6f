"""Asset names: what a name may hold, and how it travels in a download's header.

A name is stored exactly as given (file names) or trimmed (typed names): any Unicode text of 1
to 256 characters, format characters such as bidi marks included, but no control characters
(C0, DEL, C1: NUL, tab, newline …) and no lone surrogates. Those are refused, not rewritten,
wherever a name enters, so that every backend stores the same thing or nothing.
"""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import quote

from mediashelf.errors import BadRequest

NAME_MAX = 256

_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
# Bidi embeddings, overrides and isolates can make "x‮gpj.exe" look like an image: a
# downloaded file's name goes without them (the stored name keeps them).
_BIDI = "\u202a-\u202e\u2066-\u2069"
_UNSAFE = "/\\\\\x00-\x1f\x7f-\x9f\ud800-\udfff"  # separators, controls, lone surrogates
_BIDI_CONTROLS = re.compile(f"[{_BIDI}]")
_UNSAFE_IN_FILE = re.compile(f"[{_UNSAFE}]")
_CHANGED_IN_FILE = re.compile(f"[{_UNSAFE}{_BIDI}]")  # either: the name is rewritten
_NOT_IN_FALLBACK = re.compile('[^\x20-\x7e]|["\\\\%]')


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


def download_name(name: str, extension: str) -> str:
    """The name a downloaded copy gets: no path separators or controls, the real extension."""
    if _CHANGED_IN_FILE.search(name) is None:  # most names (a listing asks for 100 a page)
        base = name.strip() or "asset"
    else:
        base = _BIDI_CONTROLS.sub("", _UNSAFE_IN_FILE.sub("_", name)).strip() or "asset"
    if extension and base.lower().endswith(extension):
        return base
    return base + extension


def inline_disposition(filename: str) -> str:
    """`inline; filename="…"` (RFC 6266), with `filename*=UTF-8''…` (RFC 8187) when the name
    is not plain ASCII: the quoted name is then an ASCII stand-in for older clients."""
    if _NOT_IN_FALLBACK.search(filename) is None:  # plain ASCII: it is its own fallback
        return f'inline; filename="{filename}"'
    fallback = _ascii_fallback(filename)
    if fallback == filename:
        return f'inline; filename="{filename}"'
    return f"inline; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


def _ascii_fallback(filename: str) -> str:
    # accents dropped (été → ete), then anything else outside printable ASCII becomes "_"; "%"
    # and "\" go too, as RFC 6266 (appendix D) advises
    plain = "".join(c for c in unicodedata.normalize("NFKD", filename)
                    if not unicodedata.combining(c))
    return _NOT_IN_FALLBACK.sub("_", plain)

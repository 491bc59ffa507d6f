"""A multipart part's Content-Disposition, read from its raw bytes: field name and file name.

Clients spell a file name in one of three ways. Browsers, curl, httpx and our SDK put raw UTF-8
in the quoted `filename` (RFC 7578), writing `"`, CR and LF (httpx: every C0 control) as %22,
%0D and %0A, as the HTML form encoding says; some clients send `filename*=UTF-8''…` (RFC 8187),
which wins when both are given (RFC 6266); old clients send Latin-1 bytes. A literal "%22" in a
file name therefore reads as `"`: the form encoding leaves no way to tell the two apart.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote_to_bytes

from mediashelf.errors import BadRequest

# one `; key=value` parameter: a quoted string (with \" and \\ escapes) or a bare value; a
# bare word or an empty segment is skipped
_PARAM = re.compile(rb'[ \t]*(?:([^ \t=;"]+)[ \t]*(?:=[ \t]*(?:"((?:[^"\\]|\\.)*)"|([^;"]*)))?)?'
                    rb"[ \t]*(?:;|\Z)", re.S)
_QUOTED_PAIR = re.compile(rb'\\([\\"])')
_FORM_ESCAPE = re.compile(rb"%(0[0-9A-Fa-f]|1[0-9A-Fa-f]|22)")
_PERCENT_OK = re.compile(rb"(?:%[0-9A-Fa-f]{2}|[^%])*")
_WINDOWS_PATH = re.compile(r"[A-Za-z]:\\")  # C:\dir\name, as old browsers sent
_KNOWN = (b"name", b"filename", b"filename*")
_CHARSETS = {"utf-8": "utf-8", "iso-8859-1": "latin-1", "us-ascii": "ascii"}


@dataclass(frozen=True, slots=True)
class Part:
    field: str
    filename: str | None


def parse(raw: bytes) -> Part:
    """The field name and decoded file name of one part; BadRequest if the header is garbled."""
    params: dict[bytes, bytes] = {}
    _, _, rest = raw.partition(b";")
    pos = 0
    while pos < len(rest):
        match = _PARAM.match(rest, pos)
        if match is None or match.end() == pos:
            raise BadRequest("malformed Content-Disposition header in a form part")
        pos = match.end()
        key, quoted, bare = match.groups()
        if key is None or (quoted is None and bare is None):
            continue
        key = key.lower()
        if key not in _KNOWN:
            continue
        if key in params:
            raise BadRequest(f"a form part's Content-Disposition gives '{key.decode()}' twice")
        params[key] = _QUOTED_PAIR.sub(rb"\1", quoted) if quoted is not None else bare.strip()
    field = params.get(b"name", b"").decode("utf-8", "replace")
    return Part(field, _file_name(params))


def decode_text(raw: bytes) -> str:
    """UTF-8 as RFC 7578 says; bytes that are not UTF-8 are read as Windows-1252 (Latin-1)."""
    for encoding in ("utf-8", "cp1252"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            pass
    return raw.decode("latin-1")  # bytes cp1252 leaves undefined: C1 controls, refused later


def _file_name(params: dict[bytes, bytes]) -> str | None:
    if b"filename*" in params:
        return _basename(_extended(params[b"filename*"]))
    raw = params.get(b"filename")
    if raw is None:
        return None
    raw = _FORM_ESCAPE.sub(lambda m: bytes([int(m.group(1), 16)]), raw)
    return _basename(decode_text(raw))


def _extended(value: bytes) -> str:
    """An RFC 8187 ext-value, charset'language'percent-encoded."""
    charset, _, rest = value.partition(b"'")
    _, quote, encoded = rest.partition(b"'")
    codec = _CHARSETS.get(charset.decode("latin-1").lower())
    if not quote or codec is None or not _PERCENT_OK.fullmatch(encoded):
        raise BadRequest("invalid filename* in the file part: send UTF-8''percent-encoded "
                         "bytes")
    try:
        return unquote_to_bytes(encoded).decode(codec)
    except UnicodeDecodeError:
        raise BadRequest("invalid filename* in the file part: its bytes are not "
                         f"{charset.decode('latin-1')}") from None


def _basename(name: str) -> str:
    """The last segment of a path some clients send instead of a name."""
    if _WINDOWS_PATH.match(name):
        name = name.rsplit("\\", 1)[-1]
    return name.rsplit("/", 1)[-1]

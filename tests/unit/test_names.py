"""Name rules and the two header codecs: any bytes in, a Part or a 400 out; any name out, a
header that decodes back to it."""

from __future__ import annotations

from email.message import Message
from email.utils import collapse_rfc2231_value

from hypothesis import given, settings
from hypothesis import strategies as st

from mediashelf import names
from mediashelf.api import disposition
from mediashelf.errors import BadRequest
from mediashelf.names import check_name, download_name, inline_disposition

NAMES = st.text(st.characters(codec="utf-8"), min_size=1, max_size=80)


def saved_as(header: str) -> str:
    message = Message()
    message["content-disposition"] = header
    params = message.get_params(header="content-disposition") or []
    extended = [v for k, v in params if k == "filename" and isinstance(v, tuple)]
    return collapse_rfc2231_value(extended[0] if extended else dict(params)["filename"])


@settings(max_examples=200)
@given(NAMES)
def test_a_download_header_is_ascii_and_decodes_to_the_name(name: str) -> None:
    header = inline_disposition(name)
    assert header.isascii() and "\r" not in header and "\n" not in header
    assert saved_as(header) == name


@settings(max_examples=300)
@given(st.binary(max_size=200))
def test_any_part_header_parses_or_is_a_400(raw: bytes) -> None:
    try:
        part = disposition.parse(b"form-data; " + raw)
    except BadRequest:
        return
    assert isinstance(part.field, str)
    assert part.filename is None or isinstance(part.filename, str)


@given(NAMES)
def test_a_checked_name_is_checked_again_unchanged(name: str) -> None:
    try:
        once = check_name(name)
    except BadRequest:
        return
    assert check_name(once) == once


def test_download_names() -> None:
    assert download_name("東京 🎬", ".jpg") == "東京 🎬.jpg"
    assert download_name("clip.JPG", ".jpg") == "clip.JPG"
    assert download_name("a/b\\c\u202egpj.exe", ".png") == "a_b_cgpj.exe.png"
    assert download_name("  ", ".mp3") == "asset.mp3"
    assert inline_disposition("plain.png") == 'inline; filename="plain.png"'
    assert inline_disposition("été.png") == \
        "inline; filename=\"ete.png\"; filename*=UTF-8''%C3%A9t%C3%A9.png"


@settings(max_examples=300)
@given(st.text(st.sampled_from("ab .é/\\\x00\x1f\x7f\x85\u202a\u202e\u2066\u2069🎬")
               | st.characters(), max_size=20), st.sampled_from(["", ".jpg"]))
def test_a_download_name_loses_separators_controls_and_bidi_marks(name: str, ext: str) -> None:
    """The shortcut for names with nothing to change gives what the full rewrite gives."""
    base = names._BIDI_CONTROLS.sub("", names._UNSAFE_IN_FILE.sub("_", name)).strip() or "asset"
    want = base if ext and base.lower().endswith(ext) else base + ext
    assert download_name(name, ext) == want
    assert not names._CHANGED_IN_FILE.search(want)

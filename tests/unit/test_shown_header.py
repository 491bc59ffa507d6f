"""A header's value quoted in an error message reads as the client wrote it."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from mediashelf.errors import shown_header


@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=64))
def test_utf8_text_is_quoted_as_written(text: str) -> None:
    # what Starlette hands over: the header's UTF-8 bytes read as Latin-1
    assert shown_header(text.encode().decode("latin-1")) == text


@given(st.binary(max_size=200))
def test_any_bytes_give_short_text_that_can_be_sent(raw: bytes) -> None:
    quoted = shown_header(raw.decode("latin-1"))
    assert len(quoted) <= 65
    quoted.encode("utf-8")  # no lone surrogates: the message can be written as JSON
    if b"\\" not in raw and len(raw) <= 16:  # escapes are the only backslashes, none cut
        assert ("\\x" in quoted) == (not _is_utf8(raw))


def _is_utf8(raw: bytes) -> bool:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True

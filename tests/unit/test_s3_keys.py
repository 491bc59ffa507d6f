"""S3 keys: the shortcut for plain keys never passes one that the full check refuses."""

from __future__ import annotations

from hypothesis import example, given
from hypothesis import strategies as st

from mediashelf.storage import s3


def _sound(key: str) -> bool:
    parts = key.split("/")
    return bool(key) and not key.startswith("/") and \
        not any(p in (".", "..") for p in parts) and "" not in parts[:-1]


@given(st.text(st.sampled_from("a0./-_~é "), max_size=16))
@example("assets/0193abcd-1234-7abc-8def-0123456789ab/original.jpg")
@example("a/../b")
@example("a//b")
@example(".")
def test_a_plain_key_is_a_sound_key(key: str) -> None:
    if s3._SOUND_KEY.fullmatch(key):
        assert _sound(key)
    assert bool(s3._SOUND_KEY.fullmatch("assets/x/thumb.webp"))

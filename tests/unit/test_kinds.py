"""The media vocabulary: sniffing, types from names and Content-Types, MIME types and extensions."""

from __future__ import annotations

import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mediashelf.domain import AssetType
from mediashelf.media import kinds

IMAGE, VIDEO, AUDIO = AssetType.IMAGE, AssetType.VIDEO, AssetType.AUDIO


@pytest.mark.parametrize(("head", "expected"), [
    (b"\xff\xd8\xff\xe0\x00\x10JFIF", IMAGE),
    (b"\x89PNG\r\n\x1a\n\x00\x00", IMAGE),
    (b"RIFF\x00\x00\x00\x00WEBPVP8 ", IMAGE),
    (b"\x00\x00\x00\x18ftypheic\x00\x00", IMAGE),
    (b"\x00\x00\x00\x1cftypavif\x00\x00", IMAGE),
    (b"\x00\x00\x00\x20ftypisom\x00\x00", VIDEO),
    (b"\x00\x00\x00\x14ftypqt  \x00\x00", VIDEO),
    (b"\x00\x00\x00\x08wide\x00\x00\x00\x00mdat", VIDEO),
    (b"\x1aE\xdf\xa3\x9fB\x86\x81\x01", VIDEO),
    (b"\x00\x00\x00\x20ftypM4A \x00\x00", AUDIO),
    (b"ID3\x04\x00\x00\x00\x00", AUDIO),
    (b"\xff\xfb\x90\x00", AUDIO),
    (b"fLaC\x00\x00\x00\x22", AUDIO),
    (b"RIFF\x00\x00\x00\x00WAVEfmt ", AUDIO),
    (b"just text", None),
    (b"", None),
])
def test_sniff(head: bytes, expected: AssetType | None) -> None:
    assert kinds.sniff(head) is expected


@settings(max_examples=200)
@given(st.binary(max_size=3 * kinds.HEAD))
def test_the_first_bytes_are_enough_to_sniff(data: bytes) -> None:
    # an upload is sniffed from its first HEAD bytes only, before the rest has arrived
    assert kinds.sniff(data[:kinds.HEAD]) is kinds.sniff(data)


@pytest.mark.parametrize(("filename", "content_type", "expected"), [
    ("a.JPG", None, IMAGE),
    ("a.webm", "application/octet-stream", VIDEO),
    ("download", "video/mp4; codecs=avc1", VIDEO),
    ("download", "Audio/Mpeg", AUDIO),
    ("a.png", "video/mp4", IMAGE),  # the name wins
    (None, "application/ogg", AUDIO),
    ("C:\\clips\\b.MOV", None, VIDEO),
    ("dir/sub/take.2.m4a", None, AUDIO),
    (".mp3", None, AUDIO),
    ("clip.ts", None, VIDEO),
    ("notes.txt", None, None),
    ("drawing.svg", None, None),  # no decoder of ours reads it
    ("download", "text/html", None),
    ("", "", None),
])
def test_guess_type(filename: str | None, content_type: str | None,
                    expected: AssetType | None) -> None:
    assert kinds.guess_type(filename, content_type) is expected


_STEMS = st.text(st.characters(blacklist_characters="./\\", blacklist_categories=("Cs",)),
                 max_size=20)
_CONTENT_TYPES = st.one_of(st.none(), st.sampled_from(
    ["image/png", "video/mp4", "audio/mpeg", "text/plain", "application/octet-stream"]))


@settings(max_examples=100)
@given(kind=st.sampled_from(list(AssetType)), data=st.data(), stem=_STEMS,
       content_type=_CONTENT_TYPES)
def test_a_known_extension_decides_in_any_case(kind: AssetType, data: st.DataObject, stem: str,
                                               content_type: str | None) -> None:
    ext = data.draw(st.sampled_from(kinds.EXTENSIONS[kind]))
    cased = "".join(c.upper() if data.draw(st.booleans()) else c for c in ext)
    assert kinds.guess_type(f"{stem}.{cased}", content_type) is kind


def test_each_extension_names_one_type() -> None:
    every = [ext for exts in kinds.EXTENSIONS.values() for ext in exts]
    assert len(every) == len(set(every))
    assert all(ext == ext.lower() and "." not in ext for ext in every)


def _reported() -> list[str]:
    mimes = {*kinds.IMAGE_MIME.values(), *kinds.VIDEO_MIME.values(), *kinds.AUDIO_MIME.values()}
    return sorted(mimes | {kinds.image_mime("HEIF", b"\x00\x00\x00\x18ftypheic")})


@pytest.mark.parametrize("mime", _reported())
def test_every_reported_type_downloads_with_an_extension_of_its_own_type(mime: str) -> None:
    ext = kinds.extension(mime)
    assert ext.startswith(".")
    assert kinds.type_from_name("download" + ext) is AssetType(mime.split("/")[0].upper())


def test_an_unknown_mime_type_has_no_extension() -> None:
    assert kinds.extension("application/x-mediashelf-unknown") == ""


def test_the_vocabulary_and_the_server_side_load_no_decoder() -> None:
    modules = ["mediashelf.media.kinds", "mediashelf.app", "mediashelf.worker",
               "mediashelf.services.system_library", "mediashelf.services.transfer",
               "mediashelf.cli"]
    code = (f"import importlib, sys; [importlib.import_module(m) for m in {modules!r}]; "
            "print([m for m in ('PIL', 'av', 'numpy', 'pebble') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "[]"

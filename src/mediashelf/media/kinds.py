"""The media vocabulary: magic bytes, extensions and MIME types to asset types, and back.

Codec-free (no Pillow, PyAV or NumPy), so that the API and the services can use it without
loading a decoder; the decoders in this package name what they find with it too.
"""

from __future__ import annotations

import functools
import mimetypes

from mediashelf.domain import AssetType

HEAD = 64  # bytes read to sniff a file's family

_HEIF_BRANDS = (b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1",
                b"avif", b"avis")
_QT_ATOMS = (b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot")


def sniff(head: bytes) -> AssetType | None:
    """A first guess of the type from a file's first bytes; None when they say nothing."""
    if (head[:3] == b"\xff\xd8\xff" or head[:8] == b"\x89PNG\r\n\x1a\n"
            or head[:4] in (b"GIF8", b"II*\x00", b"MM\x00*") or head[:2] == b"BM"
            or (head[:4] == b"RIFF" and head[8:12] == b"WEBP")):
        return AssetType.IMAGE
    if head[4:8] == b"ftyp":
        if head[8:12] in _HEIF_BRANDS:
            return AssetType.IMAGE
        return AssetType.AUDIO if head[8:12] in (b"M4A ", b"M4B ", b"M4P ") else AssetType.VIDEO
    if (head[:4] in (b"\x1aE\xdf\xa3", b"FLV\x01", b"\x00\x00\x01\xba", b"0&\xb2u")
            or (head[:4] == b"RIFF" and head[8:12] == b"AVI ") or head[4:8] in _QT_ATOMS):
        return AssetType.VIDEO
    if (head[:3] == b"ID3" or (len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0)
            or head[:4] in (b"fLaC", b"OggS", b"caff", b"wvpk", b"MAC ")
            or head[:5] == b"#!AMR"
            or (head[:4] == b"RIFF" and head[8:12] == b"WAVE")
            or (head[:4] == b"FORM" and head[8:12] in (b"AIFF", b"AIFC"))):
        return AssetType.AUDIO
    return None


# What a file name's extension says, for every format the decoders accept. A fixed table: the
# platform's MIME database differs from one machine to the next.
EXTENSIONS: dict[AssetType, tuple[str, ...]] = {
    AssetType.IMAGE: ("jpg", "jpeg", "jpe", "jfif", "png", "gif", "webp", "bmp", "tif", "tiff",
                      "heic", "heif", "avif"),
    AssetType.VIDEO: ("mp4", "m4v", "mov", "qt", "webm", "mkv", "avi", "mpg", "mpeg", "mpe",
                      "m1v", "m2v", "ts", "mts", "m2ts", "3gp", "3g2", "ogv", "wmv", "asf",
                      "flv"),
    AssetType.AUDIO: ("mp3", "mp2", "wav", "wave", "w64", "ogg", "oga", "opus", "flac", "m4a",
                      "m4b", "3ga", "aac", "weba", "aif", "aiff", "aifc", "caf", "wma", "mka",
                      "ac3", "eac3", "amr", "wv", "ape"),
}
_TYPE_BY_EXTENSION = {ext: t for t, exts in EXTENSIONS.items() for ext in exts}


def type_from_name(filename: str | None) -> AssetType | None:
    """The type a file name's extension stands for, if it is one of ours."""
    base = (filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    return _TYPE_BY_EXTENSION.get(base.rsplit(".", 1)[1].lower()) if "." in base else None


def type_from_mime(content_type: str | None) -> AssetType | None:
    """The type a Content-Type stands for: its image/, video/ or audio/ family."""
    mime = (content_type or "").split(";")[0].strip().lower()
    if mime == "application/ogg":
        return AssetType.AUDIO
    family = mime.split("/")[0]
    return AssetType(family.upper()) if family in ("image", "video", "audio") else None


def guess_type(filename: str | None, content_type: str | None) -> AssetType | None:
    """A guess from the file name, else the Content-Type: for when the content says nothing."""
    return type_from_name(filename) or type_from_mime(content_type)


# Pillow's format names, and containers as users call them, to the MIME types we report.
IMAGE_MIME = {"JPEG": "image/jpeg", "PNG": "image/png", "GIF": "image/gif", "WEBP": "image/webp",
              "BMP": "image/bmp", "TIFF": "image/tiff", "HEIF": "image/heif",
              "AVIF": "image/avif"}
VIDEO_MIME = {"mp4": "video/mp4", "mov": "video/quicktime", "3gp": "video/3gpp",
              "m4a": "video/mp4", "webm": "video/webm", "mkv": "video/x-matroska",
              "avi": "video/x-msvideo", "mpegts": "video/mp2t", "mpeg": "video/mpeg",
              "flv": "video/x-flv", "ogg": "video/ogg", "asf": "video/x-ms-asf"}
AUDIO_MIME = {"mp3": "audio/mpeg", "flac": "audio/flac", "ogg": "audio/ogg", "wav": "audio/wav",
              "w64": "audio/wav", "mp4": "audio/mp4", "m4a": "audio/mp4", "mov": "audio/mp4",
              "3gp": "audio/3gpp", "aac": "audio/aac", "webm": "audio/webm",
              "mkv": "audio/x-matroska", "aiff": "audio/aiff", "caf": "audio/x-caf",
              "asf": "audio/x-ms-wma", "ac3": "audio/ac3", "eac3": "audio/eac3",
              "amr": "audio/amr", "wv": "audio/x-wavpack", "ape": "audio/x-ape"}


def image_mime(pillow_format: str, head: bytes = b"") -> str:
    """MIME type of a picture by Pillow's format name (HEIF with a HEIC brand is image/heic)."""
    if pillow_format == "HEIF" and head[8:12] in (b"heic", b"heix", b"heim", b"heis"):
        return "image/heic"
    return IMAGE_MIME.get(pillow_format, "application/octet-stream")


def video_mime(container: str) -> str:
    """MIME type of a video container by its user-facing name."""
    return VIDEO_MIME.get(container, f"video/{container}")


def audio_mime(container: str) -> str:
    """MIME type of an audio-only container by its user-facing name."""
    return AUDIO_MIME.get(container, f"audio/{container}")


# The extension a download of each MIME type we report is named with.
_EXTENSION_OF = {
    "image/jpeg": ".jpg", "image/png": ".png", "image/gif": ".gif", "image/webp": ".webp",
    "image/bmp": ".bmp", "image/tiff": ".tif", "image/heif": ".heif", "image/heic": ".heic",
    "image/avif": ".avif",
    "video/mp4": ".mp4", "video/quicktime": ".mov", "video/3gpp": ".3gp", "video/webm": ".webm",
    "video/x-matroska": ".mkv", "video/x-msvideo": ".avi", "video/mp2t": ".ts",
    "video/mpeg": ".mpeg", "video/x-flv": ".flv", "video/ogg": ".ogv", "video/x-ms-asf": ".asf",
    "audio/mpeg": ".mp3", "audio/flac": ".flac", "audio/ogg": ".ogg", "audio/wav": ".wav",
    "audio/mp4": ".m4a", "audio/3gpp": ".3ga", "audio/aac": ".aac", "audio/webm": ".weba",
    "audio/x-matroska": ".mka", "audio/aiff": ".aiff", "audio/x-caf": ".caf",
    "audio/x-ms-wma": ".wma", "audio/ac3": ".ac3", "audio/eac3": ".eac3", "audio/amr": ".amr",
    "audio/x-wavpack": ".wv", "audio/x-ape": ".ape",
}


@functools.lru_cache(maxsize=256)
def extension(mime: str) -> str:
    """'.jpg' for image/jpeg…; the platform's guess for a type we never report; '' if none."""
    return _EXTENSION_OF.get(mime) or mimetypes.guess_extension(mime) or ""

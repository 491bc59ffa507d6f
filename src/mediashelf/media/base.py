"""Facts we report about a media file, the limits we decode under, the one error we raise."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mediashelf.domain import AssetType


class MediaError(Exception):
    """A file we cannot accept; str() is the user-facing failure reason, `detail` is for the log."""

    def __init__(self, reason: str, detail: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.detail = detail

    def __str__(self) -> str:
        return self.reason

    def __reduce__(self) -> tuple[type[MediaError], tuple[str, str | None]]:
        # Crosses the process boundary with both parts.
        return MediaError, (self.reason, self.detail)


@dataclass(slots=True)
class MediaInfo:
    type: AssetType
    mime_type: str
    width: int | None = None
    height: int | None = None
    duration_ms: int | None = None
    has_audio: bool | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Limits:
    max_pixels: int = 100_000_000  # per frame, checked from the header before decoding
    max_duration: float = 14400.0  # seconds of video or audio


def megapixels(pixels: int) -> str:
    """A pixel count as users read it: '900 megapixels'."""
    return f"{pixels / 1_000_000:.3g} megapixels"


def check_pixels(width: int, height: int, limits: Limits, what: str) -> None:
    """Refuse a picture larger than the pixel limit, before anything is decoded."""
    if width <= 0 or height <= 0:
        raise MediaError(f"the {what} has no size")
    if width * height > limits.max_pixels:
        raise MediaError(f"the {what} is too large ({width}x{height} pixels, "
                         f"the limit is {megapixels(limits.max_pixels)})")


def check_duration(seconds: float | None, limits: Limits, what: str) -> None:
    """Refuse a clip longer than the duration limit."""
    if seconds is not None and seconds > limits.max_duration:
        raise MediaError(f"the {what} is too long ({_hours(seconds)}, "
                         f"the limit is {_hours(limits.max_duration)})")


def _hours(seconds: float) -> str:
    if seconds >= 3600:
        return f"{seconds / 3600:.3g} h"
    if seconds >= 60:
        return f"{seconds / 60:.3g} min"
    return f"{seconds:.3g} s"

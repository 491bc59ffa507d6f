"""Pictures with Pillow (pillow-heif for HEIC): header facts, then an upright sRGB picture."""

from __future__ import annotations

import functools
import io
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageCms

from mediashelf.domain import AssetType
from mediashelf.media.base import Limits, MediaError, MediaInfo, check_pixels, megapixels
from mediashelf.media.kinds import image_mime

# Only these decoders see uploads; Pillow's other plugins guess too eagerly (TGA has no magic).
FORMATS = ("JPEG", "PNG", "GIF", "WEBP", "BMP", "TIFF", "HEIF", "AVIF")

# EXIF orientation -> the transpose that turns the stored picture upright (as exif_transpose).
_UPRIGHT = {2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180,
            4: Image.Transpose.FLIP_TOP_BOTTOM, 5: Image.Transpose.TRANSPOSE,
            6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE,
            8: Image.Transpose.ROTATE_90}

_ORIENTATION = 0x0112


@functools.cache
def _register_heif() -> None:
    from pillow_heif import register_heif_opener

    register_heif_opener()


def open_image(path: Path, limits: Limits) -> Image.Image:
    """Open a picture lazily (header only) and refuse it if it has too many pixels."""
    _register_heif()
    try:
        with warnings.catch_warnings():
            # Our own check below decides; Pillow's hard stop (twice its limit) still applies.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            im = Image.open(path, formats=FORMATS)
    except Image.DecompressionBombError:
        raise MediaError(f"the image is too large (over {megapixels(limits.max_pixels)})") from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise MediaError("the image is corrupt or in an unsupported format") from exc
    try:
        check_pixels(im.width, im.height, limits, "image")
        if im.format == "PNG":
            _verify(path)
    except MediaError:
        im.close()
        raise
    return im


def _verify(path: Path) -> None:
    """Check a PNG's chunk checksums: reading EXIF loads the pixels and may hide a bad stream."""
    try:
        with Image.open(path, formats=["PNG"]) as im:
            im.verify()
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise MediaError("the image is corrupt or truncated") from exc


def orientation(im: Image.Image) -> int:
    """The EXIF orientation tag (1 to 8), 1 when absent or nonsense."""
    try:
        value = im.getexif().get(_ORIENTATION, 1)
    except Exception:  # a broken EXIF block must not fail an otherwise good picture
        return 1
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


def image_info(im: Image.Image, head: bytes) -> MediaInfo:
    """Format, MIME type, displayed size (orientation applied) and frame count."""
    fmt = im.format or ""
    width, height = im.size
    turn = orientation(im)
    if turn in (5, 6, 7, 8):
        width, height = height, width
    frames = int(getattr(im, "n_frames", 1) or 1)
    mime = image_mime(fmt, head)
    extra: dict[str, object] = {"format": fmt.lower(), "colorMode": im.mode, "frames": frames,
                                "hasAlpha": _has_alpha(im)}
    if frames > 1:
        extra["animated"] = True
    if turn != 1:
        extra["orientation"] = turn
    return MediaInfo(AssetType.IMAGE, mime, width, height, extra=extra)


def _has_alpha(im: Image.Image) -> bool:
    return im.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in im.info


def picture(im: Image.Image, box: int) -> Image.Image:
    """The first frame, upright, in sRGB RGB or RGBA, fitted into boxxbox; decodes the file."""
    turn = orientation(im)
    icc = im.info.get("icc_profile")
    if im.format == "JPEG":
        # Decode at 1/2..1/8 scale in libjpeg, keeping twice the box like Image.thumbnail does.
        scale = 2 * box / max(im.size)
        if scale < 1:
            im.draft(None, (max(1, int(im.width * scale)), max(1, int(im.height * scale))))
    try:
        im.load()
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise MediaError("the image is corrupt or truncated") from exc
    out = _to_srgb(im, icc) if icc else im
    out = _to_rgb(out)
    out.thumbnail((box, box))
    if turn in _UPRIGHT:
        out = out.transpose(_UPRIGHT[turn])
    out.info = {}
    return out


def _to_srgb(im: Image.Image, icc: bytes) -> Image.Image:
    """Convert through the embedded colour profile; a broken profile is ignored, not fatal."""
    if im.mode not in ("RGB", "RGBA", "CMYK"):
        return im
    try:
        src = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        if "srgb" in (ImageCms.getProfileDescription(src) or "").lower().replace(" ", ""):
            return im
        mode = "RGBA" if im.mode == "RGBA" else "RGB"
        converted = ImageCms.profileToProfile(im, src, _srgb(), outputMode=mode)
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
        return im
    return converted if converted is not None else im


@functools.cache
def _srgb() -> ImageCms.ImageCmsProfile:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


def _to_rgb(im: Image.Image) -> Image.Image:
    """Any Pillow mode to RGB, RGBA or L, scaling deep pixels down rather than clipping them."""
    mode = im.mode
    if mode in ("RGB", "RGBA", "L"):
        return im
    if mode.startswith("I;16"):
        return Image.fromarray((np.asarray(im).astype(np.uint16) >> 8).astype(np.uint8), "L")
    if mode in ("I", "F"):
        return Image.fromarray(_stretch(np.asarray(im, dtype=np.float64)), "L")
    if mode == "P":
        return im.convert("RGBA" if "transparency" in im.info else "RGB")
    if mode == "1":
        return im.convert("L")
    if _has_alpha(im):
        return im.convert("RGBA")
    return im.convert("RGB")


def _stretch(values: np.ndarray) -> np.ndarray:
    """Deep grey values to 8 bits: 16-bit range when they fit, else their own min..max."""
    lo, hi = float(values.min()), float(values.max())
    if lo >= 0 and 255 < hi <= 65535:
        lo, hi = 0.0, 65535.0
    elif lo >= 0 and hi <= 255:
        lo, hi = 0.0, 255.0
    span = hi - lo or 1.0
    return np.clip((values - lo) * (255.0 / span), 0, 255).astype(np.uint8)

"""The one image reader: a path, encoded bytes, a numpy array or a PIL image -> BGR uint8 (H, W, 3).

The Python API, the service (uploads and stream frames) and image files or folders as a live source
all read photos here, so each accepts and refuses the same inputs with the same words. Every
refusal is a SourceError: an empty, damaged, truncated, too small or (when a limit is given) too
large image, and arrays or PIL images of a kind that is not an image.
"""

from __future__ import annotations

import io
import re
import sys
import warnings
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from fer.data.jpeg import truncated_jpeg
from fer.errors import SourceError

MIN_IMAGE_SIDE = 8  # smaller images cannot hold a face, and OpenCV's resizing rejects some of them
BOMB = (1 << 31, 1 << 31)  # the size reported for a header PIL itself refuses as a decompression bomb
EXIF_ORIENTATION = 0x0112  # the EXIF tag saying how a camera held the picture


class TooManyPixels(SourceError):
    """The image header declares more pixels than allowed; nothing was decoded."""


def too_small(image: np.ndarray) -> str:
    h, w = image.shape[:2]
    return f"the image is only {w}x{h} pixels, too small to hold a face (at least {MIN_IMAGE_SIDE}x{MIN_IMAGE_SIDE})"


def checked(image: np.ndarray, name: str) -> np.ndarray:
    if min(image.shape[:2]) < MIN_IMAGE_SIDE:
        raise SourceError(f"{name}: {too_small(image)}")
    return image


def header_size(data: bytes, name: str) -> tuple[int, int] | None:
    """(width, height) from the header alone; None when PIL does not know the format (OpenCV then decides)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # DecompressionBombWarning, "Corrupt EXIF data", ...
            with Image.open(io.BytesIO(data)) as im:
                return im.size
    except Image.DecompressionBombError as e:  # PIL's own limit (about 179 megapixels) names the count
        count = re.search(r"\((\d+) pixels\)", str(e))
        return (int(count.group(1)), 1) if count else BOMB
    except UnidentifiedImageError:
        return None
    except Exception as e:  # noqa: BLE001 - PIL's header parsers raise OSError, ValueError, SyntaxError, ...
        raise SourceError(f"{name} has a damaged image header ({type(e).__name__}: {e})") from e


def check_pixels(width: int, height: int, name: str, max_pixels: int) -> None:
    if width * height > max_pixels:
        declared = "over 178 megapixels" if (width, height) == BOMB else f"{width * height / 1e6:.0f} megapixels" \
            if height == 1 else f"{width}x{height} pixels ({width * height / 1e6:.0f} megapixels)"
        raise TooManyPixels(f"{name} declares {declared}; the limit is {max_pixels / 1e6:g} megapixels")


def decode_image(data: bytes, name: str = "the image bytes", max_pixels: int | None = None) -> np.ndarray:
    """Encoded image bytes (JPEG, PNG, BMP, WebP, TIFF, ...) -> BGR uint8.

    max_pixels: refuse (TooManyPixels) an image whose header declares more, before decoding it.
    """
    if not data:
        raise SourceError(f"{name} is empty (0 bytes)")
    if max_pixels is not None:
        size = header_size(data, name)
        if size is not None:
            check_pixels(*size, name, max_pixels)
    try:
        image = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_COLOR)
    except cv2.error:
        image = None
    if truncated_jpeg(data):
        raise SourceError(f"{name} cannot be decoded: a truncated JPEG (the file ends before the image does)")
    if image is None:
        raise SourceError(f"{name} cannot be decoded as an image (damaged, truncated or not an image format "
                          "OpenCV reads)")
    if max_pixels is not None:  # formats PIL does not know were only measured once decoded
        check_pixels(image.shape[1], image.shape[0], name, max_pixels)
    return checked(image, name)


def read_image(path: str | Path, max_pixels: int | None = None) -> np.ndarray:
    """An image file -> BGR uint8. Read as bytes, so it is checked exactly like an upload."""
    path = Path(path).expanduser()
    if path.is_dir():
        raise SourceError(f"{path} is a folder, not an image: pass one image file, or run the folder with "
                          f"`ferkit webcam headless=true source={path} output=OUT_FOLDER`")
    if not path.is_file():
        raise SourceError(f"image not found: {path}")
    return decode_image(path.read_bytes(), str(path), max_pixels)


def from_array(array: np.ndarray, name: str = "the image array") -> np.ndarray:
    """Gray (H, W) or (H, W, 1), BGR (H, W, 3) or BGRA (H, W, 4), uint8 -> BGR uint8."""
    if array.dtype != np.uint8:
        raise SourceError(f"image arrays must be uint8 (0-255), got {array.dtype}; "
                          "convert with (array * 255).astype(np.uint8) if it holds values in [0, 1]")
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[..., 0]
    if array.ndim == 2:
        image = cv2.cvtColor(np.ascontiguousarray(array), cv2.COLOR_GRAY2BGR) if array.size else None
    elif array.ndim == 3 and array.shape[2] == 3:
        image = np.ascontiguousarray(array) if array.size else None
    elif array.ndim == 3 and array.shape[2] == 4:
        image = cv2.cvtColor(np.ascontiguousarray(array), cv2.COLOR_BGRA2BGR) if array.size else None
    else:
        raise SourceError(f"an image array must be (H, W), (H, W, 1), (H, W, 3) BGR or (H, W, 4) BGRA; "
                          f"got shape {array.shape}")
    if image is None:
        raise SourceError(f"{name} is empty (shape {array.shape})")
    return checked(image, name)


def upright(image: Any) -> Any:
    """A PIL image turned as its EXIF orientation says: OpenCV turns the same file so when it decodes it."""
    from PIL import ImageOps

    if image.getexif().get(EXIF_ORIENTATION, 1) == 1:
        return image
    return ImageOps.exif_transpose(image)


def from_pil(image: Any, name: str = "the PIL image") -> np.ndarray:
    """A PIL image of any mode -> BGR uint8, upright; 16-bit and 32-bit gray are scaled to 8 bits as OpenCV
    reads them."""
    mode = image.mode
    try:
        image = upright(image)
        if mode.startswith("I;16") or mode in ("I", "F"):
            gray = np.asarray(image)
            gray = np.nan_to_num(gray.astype(np.float64))
            if mode == "F" and gray.size and gray.max() <= 1:
                gray = np.rint(gray * 255)  # a float image in [0, 1]
            else:
                gray = np.floor(np.clip(gray, 0, 65535) / 256)  # the 16-bit range, as cv2.imread scales it
            return from_array(np.clip(gray, 0, 255).astype(np.uint8), name)
        rgb = np.asarray(image.convert("RGB"))
    except (OSError, ValueError, SyntaxError, EOFError) as e:  # a lazily loaded file that is damaged, or a
        raise SourceError(f"{name} (mode {mode}) cannot be read as an image: {e}") from e  # mode without RGB
    return from_array(np.ascontiguousarray(rgb[..., ::-1]), name)


def is_pil_image(obj: Any) -> bool:
    pil = sys.modules.get("PIL.Image")  # a PIL image can only exist if PIL is already imported
    return pil is not None and isinstance(obj, pil.Image)


def to_bgr(image: Any, max_pixels: int | None = None) -> np.ndarray:
    """A path, encoded bytes, a numpy array (BGR or gray, like OpenCV) or a PIL image -> BGR uint8.

    max_pixels: refuse (TooManyPixels) a larger image, files and PIL images before they are decoded.
    """
    if isinstance(image, (str, Path)):
        return read_image(image, max_pixels)
    if isinstance(image, (bytes, bytearray, memoryview)):
        return decode_image(bytes(image), max_pixels=max_pixels)
    if isinstance(image, np.ndarray):
        if max_pixels is not None and image.ndim >= 2:
            check_pixels(image.shape[1], image.shape[0], "the image array", max_pixels)
        return from_array(image)
    if is_pil_image(image):
        if max_pixels is not None:  # a PIL image opened from a file is decoded only when converted
            width, height = image.size
            check_pixels(width, height, "the PIL image", max_pixels)
        return from_pil(image)
    raise SourceError(f"cannot use a {type(image).__name__} as an image: pass a path, encoded bytes, "
                      "a numpy array (BGR or gray) or a PIL image")

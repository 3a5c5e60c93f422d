"""Whether JPEG bytes hold the whole image. OpenCV decodes a JPEG cut short without a word and paints
the missing rows grey, so the dataset reader (which skips such files) and the image reader (which refuses
them) both ask here first."""

from __future__ import annotations

import io
import warnings

JPEG_START, JPEG_END = b"\xff\xd8\xff", b"\xff\xd9"


def truncated_jpeg(data: bytes) -> bool:
    """A JPEG that stops before its end marker; False for anything that is not a JPEG.

    Files that end in the marker are whole; the rare one that does not (a trailer after the image) is
    decoded once more by PIL, which tells a truncated image from trailing bytes.
    """
    if not data.startswith(JPEG_START) or data.rstrip(b"\x00\r\n ").endswith(JPEG_END):
        return False
    from PIL import Image  # only for the rare file without its end marker

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(io.BytesIO(data)) as im:
                im.load()
    except Exception:  # noqa: BLE001 - any failure to decode the whole image counts as cut short
        return True
    return False

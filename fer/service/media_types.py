"""Tell images, videos and anything else apart by their first bytes, not by a name or a claimed type.

A file that starts like an image but does not decode is damaged (400); one that starts like
nothing we read is the wrong kind of file (415).
"""

from __future__ import annotations

IMAGE_SIGNATURES = {
    b"\xff\xd8\xff": "jpeg", b"\x89PNG\r\n\x1a\n": "png", b"GIF87a": "gif", b"GIF89a": "gif", b"BM": "bmp",
    b"II*\x00": "tiff", b"MM\x00*": "tiff", b"P5": "pgm", b"P6": "ppm",
}
VIDEO_SIGNATURES = {b"\x1a\x45\xdf\xa3": "matroska/webm", b"\x00\x00\x01\xba": "mpeg-ps", b"FLV": "flv"}


def sniff(head: bytes) -> tuple[str, str] | None:
    """First bytes of a file -> ("image" | "video", format) or None."""
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image", "webp"
    if head[:4] == b"RIFF" and head[8:12] == b"AVI ":
        return "video", "avi"
    if head[4:8] == b"ftyp":  # ISO base media: mp4, mov, m4v, 3gp; HEIF/AVIF stills share it
        brand = head[8:12]
        if brand in (b"heic", b"heix", b"mif1", b"avif"):
            return "image", brand.decode("ascii", "replace")
        return "video", "mp4/mov"
    if head[4:8] in (b"moov", b"mdat", b"wide", b"free"):  # QuickTime files without ftyp
        return "video", "mov"
    if len(head) >= 189 and head[0] == 0x47 and head[188] == 0x47:  # MPEG transport stream sync bytes
        return "video", "mpeg-ts"
    for signatures, kind in ((IMAGE_SIGNATURES, "image"), (VIDEO_SIGNATURES, "video")):
        for magic, fmt in signatures.items():
            if head.startswith(magic):
                return kind, fmt
    return None

"""Photos per second by photo size, on the photo path (`fer.Recognizer().predict`, `/v1/predict`,
image folders): CenterFace on a copy resized to `detector.photo_input_width`, then the bundled classifier.

    python -m bench.photo_sizes                       # 320, 640, 1280, 2560 and 4000 px wide
    python -m bench.photo_sizes --widths 640,4000 --seconds 3 --out -

Each photo is ../shared/media/multi_face.jpg (5 faces) and single_face.jpg scaled to the width (up or
down, aspect kept). A row times `predict` on the decoded image for at least --seconds after one untimed
call, and separately the JPEG decoding a request or a folder adds. The table replaces the
`## Photos by size` section of docs/benchmarks.md and leaves every other section alone.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import cv2
import numpy as np

import fer
from bench.common import ROOT, cpu_flags, cpu_name, publish

MEDIA = Path(os.environ.get("FER_MEDIA", ROOT.parent / "shared" / "media"))
PHOTOS = {"multi_face.jpg": 5, "single_face.jpg": 1}
SECTION = "## Photos by size"


def scaled(image: np.ndarray, width: int) -> np.ndarray:
    s = width / image.shape[1]
    return cv2.resize(image, (width, round(image.shape[0] * s)),
                      interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_CUBIC)


def timed(fn, seconds: float) -> tuple[float, object]:
    """Mean seconds per call over at least `seconds` (and 3 calls), after one untimed call."""
    out = fn()
    n, start = 0, time.perf_counter()
    while n < 3 or time.perf_counter() - start < seconds:
        fn()
        n += 1
    return (time.perf_counter() - start) / n, out


def measure(recognizer: fer.Recognizer, name: str, image: np.ndarray, seconds: float) -> dict:
    jpeg = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 90])[1].tobytes()
    per_photo, faces = timed(lambda: recognizer.predict(image), seconds)
    per_decode, _ = timed(lambda: cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR), seconds / 4)
    return {"photo": name, "width": image.shape[1], "height": image.shape[0], "faces": len(faces),
            "expected": PHOTOS[name], "ms": per_photo * 1e3, "decode_ms": per_decode * 1e3,
            "photos_s": 1 / (per_photo + per_decode), "load": os.getloadavg()[0]}


def table(rows: list[dict], recognizer: fer.Recognizer, command: str) -> str:
    det = recognizer.settings["detector"]
    isa = " ".join(n for n, f in (("AVX-512", "avx512f"), ("AMX", "amx_tile")) if f in cpu_flags()) or "AVX2"
    lines = [SECTION, "", f"`{command}`", "",
             f"- Machine: {cpu_name()} ({isa}), {os.cpu_count()} cores, Python {platform.python_version()}, "
             f"OpenCV {cv2.__version__}; the settings of conf/webcam.yaml (classifier threads: "
             f"{recognizer.settings.get('classifier', {}).get('threads')}).",
             f"- Photo path: {det['name']} on a copy {det.get('photo_input_width')} px wide (video frames: "
             f"{det.get('input_width')} px), then {recognizer.model_info['model']} "
             f"({Path(recognizer.model_info['path']).name}, {recognizer.model_info['backend']}).",
             "- predict: mean ms per call on the decoded photo (detect, crop, classify); decode: the JPEG "
             "(quality 90) a request or a folder adds; photos/s counts both. Load: the 1-minute load average "
             "after the row (the bench alone keeps it near 1-2; above that other processes shared the cores).", "",
             "| photo | size | faces found | predict ms | decode ms | photos/s | load |", "|---|---|---|---:|---:|---:|---:|"]
    for r in rows:
        found = f"{r['faces']} of {r['expected']}" + ("" if r["faces"] == r["expected"] else " ✗")
        lines.append(f"| {r['photo']} | {r['width']}x{r['height']} | {found} | {r['ms']:.1f} | "
                     f"{r['decode_ms']:.1f} | {r['photos_s']:.1f} | {r['load']:.1f} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--widths", default="320,640,1280,2560,4000", help="comma list of photo widths in pixels")
    ap.add_argument("--seconds", type=float, default=2.0, help="time each row for at least this long")
    ap.add_argument("--out", default=str(ROOT / "docs" / "benchmarks.md"), help="'-' prints the table only")
    args = ap.parse_args()
    widths = [int(w) for w in args.widths.split(",") if w]
    missing = [n for n in PHOTOS if not (MEDIA / n).is_file()]
    if missing:
        sys.exit(f"{', '.join(missing)} not found in {MEDIA}: set FER_MEDIA to the media folder")
    recognizer = fer.Recognizer()
    rows = []
    for name in PHOTOS:
        image = cv2.imread(str(MEDIA / name))
        for width in widths:
            r = measure(recognizer, name, scaled(image, width), args.seconds)
            print(f"{name:16s} {r['width']:5d}x{r['height']:<5d} {r['faces']} faces  {r['ms']:7.1f} ms  "
                  f"{r['photos_s']:6.1f} photos/s  load {r['load']:.1f}", file=sys.stderr, flush=True)
            rows.append(r)
    command = "python -m bench.photo_sizes" + "".join(
        f" --{k} {v}" for k, v in (("widths", args.widths), ("seconds", args.seconds)) if v != ap.get_default(k))
    publish(SECTION, table(rows, recognizer, command), args.out)


if __name__ == "__main__":
    main()

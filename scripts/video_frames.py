"""Save chosen frames of a video as PNG: the stills of annotated runs in docs/ (a tool for the docs, not a
`ferkit` command).

    python scripts/video_frames.py annotated.mp4 --frames 40 200 400 --out docs/results/live --prefix wolfgang
"""

import argparse
import sys
from pathlib import Path

import cv2

from fer.cli.entrypoint import exit_on_user_error
from fer.errors import SourceError


@exit_on_user_error
def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("video")
    ap.add_argument("--frames", type=int, nargs="+", required=True, help="0-based frame indices")
    ap.add_argument("--out", required=True, help="folder for the PNGs")
    ap.add_argument("--prefix", default="frame")
    args = ap.parse_args()
    cap = cv2.VideoCapture(args.video)
    if not cap.isOpened():
        raise SourceError(f"cannot open {args.video} as a video")
    wanted, index, out = set(args.frames), 0, Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    while wanted:
        ok, frame = cap.read()
        if not ok:
            break
        if index in wanted:
            path = out / f"{args.prefix}_{index:04d}.png"
            cv2.imwrite(str(path), frame)
            print(path)
            wanted.discard(index)
        index += 1
    cap.release()
    if wanted:
        raise SourceError(f"the video has {index} frames; not found: {sorted(wanted)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

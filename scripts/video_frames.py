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
from fer.inference.sources import open_video


@exit_on_user_error
def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("video")
    ap.add_argument("--frames", type=int, nargs="+", required=True, help="0-based frame indices")
    ap.add_argument("--out", required=True, help="folder for the PNGs")
    ap.add_argument("--prefix", default="frame")
    args = ap.parse_args()
    wanted, out, read = set(args.frames), Path(args.out), 0
    with open_video(args.video) as source:
        out.mkdir(parents=True, exist_ok=True)
        for frame in source:
            read = frame.index + 1
            if frame.index in wanted:
                path = out / f"{args.prefix}_{frame.index:04d}.png"
                cv2.imwrite(str(path), frame.image)
                print(path)
                wanted.discard(frame.index)
            if not wanted:
                break
    if wanted:
        raise SourceError(f"the video has {read} frames; not found: {sorted(wanted)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

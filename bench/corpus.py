"""Corpus runs: seconds of video per second of wall time, on every frame and at sample_fps=5, on 1 and 2
workers; a rerun that skips everything; and the `fer` package's Video.analyze on some of the same clips.

    python -m bench.corpus                         # 30 clips of 20 s at 640x480, 30 fps: 10 minutes of video
    python -m bench.corpus --tiny --out -          # 3 clips of 2 s: checks the bench, measures nothing
    python -m bench.corpus --peer-python /work/peers-venv/bin/python   # + the peer (see bench/peers.py)

The clips are cut from a reel of the shared clips (FER_MEDIA: single_face.mp4, no_face.mp4,
WolfgangLanger_Pexels.mp4), each letterboxed to 640x480 and brought to 30 fps by repeating frames, every
clip starting elsewhere in the reel; they are built once into outputs/bench/corpus_<clips>x<seconds>s/.
Each measured run is `fer.analyze_corpus` into a fresh folder with the shipped settings, timed from the
call to its summary (model loading and the workers' start included). Results replace the `## Corpus runs`
section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np

import fer
from bench.common import ROOT, cpu_flags, cpu_name, publish
from fer.corpus.run import CorpusRun
from fer.inference.sources import open_video

SECTION = "## Corpus runs"
MEDIA = Path(os.environ.get("FER_MEDIA", ROOT.parent / "shared" / "media"))
SOURCES = ("WolfgangLanger_Pexels.mp4", "single_face.mp4", "no_face.mp4")
SIZE, FPS = (640, 480), 30.0
TARGETS = {None: 8.0, 5: 40.0}  # the realtime factors aimed at: every frame, sample_fps=5
SKIP_TARGET_S = 5.0

# Runs inside the peer's environment: its Video.analyze on each clip, timed; JSON out.
PEER_SCRIPT = r"""
import json, os, sys, time
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
from fer.classes import Video  # where fer 22-25 all keep it (25.x no longer exports it at the top)
from fer.fer import FER
frequency = int(sys.argv[1])
detector, wall, frames = FER(), 0.0, 0
for path in sys.argv[2:]:
    start = time.perf_counter()
    rows = Video(path).analyze(detector, display=False, frequency=frequency, save_video=False,
                               annotate_frames=False, save_frames=False, zip_images=False)
    wall += time.perf_counter() - start
    frames += len(rows)
try:
    from importlib.metadata import version
    v = version("fer")
except Exception:
    v = "?"
print(json.dumps({"wall": wall, "frames": frames, "version": v}))
"""


def letterbox(frame: np.ndarray) -> np.ndarray:
    w, h = SIZE
    scale = min(w / frame.shape[1], h / frame.shape[0])
    frame = cv2.resize(frame, (round(frame.shape[1] * scale), round(frame.shape[0] * scale)),
                       interpolation=cv2.INTER_AREA)
    top, left = (h - frame.shape[0]) // 2, (w - frame.shape[1]) // 2
    return cv2.copyMakeBorder(frame, top, h - frame.shape[0] - top, left, w - frame.shape[1] - left,
                              cv2.BORDER_CONSTANT, value=0)


def reel() -> Iterator[np.ndarray]:
    """The shared clips one after another, forever, at 30 fps and 640x480."""
    while True:
        for name in SOURCES:
            with open_video(MEDIA / name) as source:
                written = 0
                for frame in source:
                    image = letterbox(frame.image)
                    # the output frames whose time falls on this frame
                    while written * source.fps / FPS < frame.index + 1:
                        yield image
                        written += 1


def build_corpus(clips: int, seconds: float) -> Path:
    folder = ROOT / "outputs" / "bench" / f"corpus_{clips}x{seconds:g}s"
    if (folder / "done").is_file():
        return folder
    missing = [n for n in SOURCES if not (MEDIA / n).is_file()]
    if missing:
        sys.exit(f"{', '.join(missing)} not found in {MEDIA}: set FER_MEDIA to the shared media folder")
    folder.mkdir(parents=True, exist_ok=True)
    per_clip = round(seconds * FPS)
    frames = reel()
    for k in range(clips):
        for _ in range(37 * k % 211):  # each clip starts elsewhere in the reel
            next(frames)
        part = folder / f".clip_{k:02d}.partial.mp4"
        writer = cv2.VideoWriter(str(part), cv2.VideoWriter_fourcc(*"mp4v"), FPS, SIZE)
        for _ in range(per_clip):
            writer.write(next(frames))
        writer.release()
        part.rename(folder / f"clip_{k:02d}.mp4")
    (folder / "done").write_text("")
    return folder


def video_seconds(folder: Path) -> float:
    total = 0.0
    for clip in sorted(folder.glob("*.mp4")):
        capture = cv2.VideoCapture(str(clip))
        total += (capture.get(cv2.CAP_PROP_FRAME_COUNT) or 0) / (capture.get(cv2.CAP_PROP_FPS) or FPS)
        capture.release()
    return total


def timed_run(corpus: Path, out: Path, workers: int, sample_fps: float | None) -> tuple[float, CorpusRun]:
    run = CorpusRun()
    start = time.perf_counter()
    for _ in fer.analyze_corpus(corpus, out, workers=workers, sample_fps=sample_fps, progress_bar=False, run=run):
        pass
    return time.perf_counter() - start, run


def peer(python: str, clips: list[Path], frequency: int) -> dict | None:
    if not Path(python).is_file():
        print(f"warning: {python} not found: the `fer` package's row is left out", file=sys.stderr)
        return None
    with tempfile.TemporaryDirectory() as empty:  # so `import fer` finds the peer; it writes output/ here
        res = subprocess.run([python, "-c", PEER_SCRIPT, str(frequency), *map(str, clips)], cwd=empty,
                             capture_output=True, text=True,
                             env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"})
    if res.returncode != 0:
        print(f"warning: the peer failed: {res.stderr.strip()[-800:]}", file=sys.stderr)
        return None
    return json.loads(res.stdout.strip().splitlines()[-1])


def cpu_class() -> str:
    flags = cpu_flags()
    return "AVX512" if "avx512f" in flags else "AVX2" if "avx2" in flags else "no AVX2"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clips", type=int, default=30)
    ap.add_argument("--seconds", type=float, default=20.0, help="length of each clip")
    ap.add_argument("--tiny", action="store_true", help="3 clips of 2 s: to check the bench, not to measure")
    ap.add_argument("--peer-python", default=os.environ.get("FER_PEER_PYTHON", "/work/peers-venv/bin/python"),
                    help="python of the environment where `pip install fer tensorflow-cpu` was run")
    ap.add_argument("--peer-clips", type=int, default=2, help="clips the (slow) peer analyses")
    ap.add_argument("--out", default=str(ROOT / "docs" / "benchmarks.md"), help="'-' prints the table only")
    args = ap.parse_args()
    clips, seconds = (3, 2.0) if args.tiny else (args.clips, args.seconds)
    corpus = build_corpus(clips, seconds)
    video_s = video_seconds(corpus)
    rows = []
    with tempfile.TemporaryDirectory(dir=ROOT / "outputs" / "bench") as tmp:
        for sample_fps in (None, 5):
            for workers in (1, 2):
                out = Path(tmp) / f"w{workers}_s{sample_fps}"
                wall, run = timed_run(corpus, out, workers, sample_fps)
                frames = sum(r.frames_analysed for r in run.records)
                rows.append((f"sample_fps={sample_fps}" if sample_fps else "every frame", workers, frames, wall,
                             video_s / wall, TARGETS[sample_fps]))
                print(f"{rows[-1][0]:14s} workers={workers}: {frames} frames in {wall:.1f} s, "
                      f"{video_s / wall:.1f}x realtime", file=sys.stderr)
        skip_wall, skip = timed_run(corpus, Path(tmp) / "w2_sNone", 2, None)
        assert skip.records == [] and skip.skipped == clips, "the rerun should have skipped every clip"
    peer_rows = []
    peer_clips = sorted(corpus.glob("*.mp4"))[:args.peer_clips]
    peer_s = video_s * len(peer_clips) / clips
    for frequency, what in ((1, "every frame"), (6, "every 6th frame (5 fps)")):
        p = peer(args.peer_python, peer_clips, frequency)
        if p is not None:
            peer_rows.append((f"`fer` {p['version']} Video.analyze, {what}", p["frames"], p["wall"], peer_s / p["wall"]))
    lines = [SECTION, "", f"`python -m bench.corpus{' --tiny' if args.tiny else ''}`", "",
             f"- Machine: {cpu_name()} ({cpu_class()}), {os.cpu_count()} cores.",
             f"- Corpus: {clips} clips of {seconds:g} s at 640x480 and 30 fps ({video_s / 60:.1f} minutes of video), "
             "cut from a reel of the shared clips; the shipped settings (CenterFace, detection every 2nd frame, "
             "staggered classification, the bundled model).",
             "- Realtime factor: seconds of video per second of wall time, from the call to the summary (the "
             "model's loading and the workers' start included).", "",
             "| frames | workers | frames analysed | wall s | realtime factor | target |",
             "|---|---:|---:|---:|---:|---:|"]
    lines += [f"| {name} | {w} | {n} | {wall:.1f} | {rt:.1f}x | {target:g}x |" for name, w, n, wall, rt, target in rows]
    lines += ["", f"A rerun over the finished corpus (workers=2) skipped all {clips} clips in {skip_wall:.2f} s "
              f"(target: at most {SKIP_TARGET_S:g} s)."]
    if peer_rows:
        lines += ["", f"The `fer` package from PyPI (its own virtual environment, see `## Peers`) on the first "
                  f"{len(peer_clips)} clips ({peer_s:.0f} s of video):", "",
                  "| pipeline | frames analysed | wall s | realtime factor |", "|---|---:|---:|---:|"]
        lines += [f"| {name} | {n} | {wall:.1f} | {rt:.2f}x |" for name, n, wall, rt in peer_rows]
    else:
        lines += ["", "The `fer` package from PyPI was not measured in this run (no environment with it: "
                  "--peer-python)."]
    lines += ["", "For reference, py-feat publishes 80 ms a frame on a CPU: 0.42x realtime at 30 fps."]
    publish(SECTION, "\n".join(lines) + "\n", args.out)


if __name__ == "__main__":
    main()

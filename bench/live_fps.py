"""End-to-end live-inference speed: frames per second and milliseconds per stage.

    python bench/live_fps.py                       # bundled model, every configuration below
    python bench/live_fps.py --ckpt PATH --configs haar-half,centerface-160

The input is a 640x480 video made from ../shared/media/WolfgangLanger_Pexels.mp4 (640x360,
letterboxed to 4:3, 472 frames, one face throughout). Each frame is decoded, detected (every N-th
frame), preprocessed, classified, smoothed and rendered exactly as in scripts/webcam.py; only
showing or writing the image is left out. The table replaces the `## Live inference` section of
docs/benchmarks.md and leaves every other section alone.
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
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from common import cpu_name, write_section  # noqa: E402

from fer.apps.frame_loop import run_frames  # noqa: E402
from fer.inference.classifier import EmotionClassifier, set_threads  # noqa: E402
from fer.inference.detectors import create_detector  # noqa: E402
from fer.inference.pipeline import LivePipeline  # noqa: E402
from fer.inference.sources import Prefetch, open_source  # noqa: E402
from fer.inference.tracking import FaceTracker  # noqa: E402

MEDIA = Path(os.environ.get("FER_MEDIA", ROOT.parent / "shared" / "media"))
SOURCE = MEDIA / "WolfgangLanger_Pexels.mp4"
VIDEO = ROOT / "outputs" / "bench" / "wolfgang_640x480.mp4"
SECTION = "## Live inference"
STAGES = ("decode", "detect", "preprocess", "classify", "smooth", "render")

HAAR_HALF = {"detect_scale": 0.5}
CF = {"box_scale": 1.05}
# name: (detector, detector kwargs, detect_every, stagger, prefetch, what it shows)
CONFIGS = {
    "seed": ("haar", {}, 1, False, False, "Haar, seed parameters, full frame, every frame"),
    "seed-skip2": ("haar", {}, 2, False, False, "the same, detecting every 2nd frame (the reference's N=2)"),
    "haar-half-plain": ("haar", HAAR_HALF, 2, False, True, "Haar on a half-size frame, every 2nd frame"),
    "haar-half": ("haar", HAAR_HALF, 2, True, True, "the same, classification staggered to the next frame"),
    "centerface-320": ("centerface", {"input_width": 320, **CF}, 2, True, True,
                       "CenterFace at 320 px wide, every 2nd frame, staggered"),
    "centerface-160": ("centerface", {"input_width": 160, **CF}, 2, True, True,
                       "CenterFace at 160 px wide, every 2nd frame, staggered"),
}


def make_video(path: Path = VIDEO) -> Path:
    """Letterbox the 640x360 clip to 640x480 (black bars; the frame keeps every pixel)."""
    if path.is_file():
        return path
    if not SOURCE.is_file():
        sys.exit(f"{SOURCE} not found: set FER_MEDIA to the folder holding WolfgangLanger_Pexels.mp4")
    path.parent.mkdir(parents=True, exist_ok=True)
    cap = cv2.VideoCapture(str(SOURCE))
    fps = cap.get(cv2.CAP_PROP_FPS) or 24
    tmp = path.with_suffix(".part.mp4")
    writer = cv2.VideoWriter(str(tmp), cv2.VideoWriter_fourcc(*"mp4v"), fps, (640, 480))
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        frame = cv2.resize(frame, (640, round(frame.shape[0] * 640 / frame.shape[1])))
        pad = 480 - frame.shape[0]
        writer.write(cv2.copyMakeBorder(frame, pad // 2, pad - pad // 2, 0, 0, cv2.BORDER_CONSTANT, value=0))
    writer.release()
    cap.release()
    tmp.rename(path)
    return path


def measure(name: str, classifier: EmotionClassifier, video: Path, frames: int | None) -> dict:
    det_name, kwargs, every, stagger, prefetch, _ = CONFIGS[name]
    pipe = LivePipeline(create_detector(det_name, **kwargs), classifier, FaceTracker(), detect_every=every,
                        stagger=stagger)
    with open_source(str(video)) as warm:  # first calls build nets and caches: not timed
        for _ in run_frames(pipe, warm, max_frames=6):
            pass
    pipe.reset()
    source = open_source(str(video))
    source = Prefetch(source) if prefetch else source
    rows, frame_ms, labelled, calls = [], [], 0, 0
    with source:
        start = time.perf_counter()
        for step in run_frames(pipe, source, max_frames=frames):
            rows.append([step.result.timings.get(s, 0.0) for s in STAGES])
            frame_ms.append(step.frame_ms)
            labelled += bool(step.result.faces)
            calls += step.result.detected
        wall = time.perf_counter() - start
    stage = np.asarray(rows).mean(0)
    if prefetch:  # decoding ran on its own thread, overlapped: report its real cost
        stage[0] = float(np.mean(source.decode_ms)) if source.decode_ms else 0.0
    det_per_call = np.asarray(rows)[:, 1].sum() / max(1, calls)
    n = len(frame_ms)
    return {"name": name, "frames": n, "fps": n / wall, "mean": float(np.mean(frame_ms)),
            "p50": float(np.percentile(frame_ms, 50)), "p95": float(np.percentile(frame_ms, 95)),
            "labelled": labelled / n, "stages": stage, "detect_call": det_per_call, "prefetch": prefetch}


def table(results: list[dict], model: str, command: str, threads: tuple[int, int]) -> str:
    head = ("| config | what | fps | mean ms | p50 ms | p95 ms | frames labelled | decode | detect (per call) "
            "| preprocess | classify | smooth | render |")
    lines = [SECTION, "",
             f"`{command}`", "",
             f"- Machine: {cpu_name()}, {os.cpu_count()} cores; {threads[0]} OpenCV threads, {threads[1]} torch "
             f"thread(s), plus the decoding thread where noted; "
             f"Python {platform.python_version()}, torch {torch.__version__}, OpenCV {cv2.__version__}.",
             f"- Input: {VIDEO.name}, 640x480, {results[0]['frames']} frames, made from "
             "WolfgangLanger_Pexels.mp4 (letterboxed); one face in every frame.",
             f"- Model: {model}. Stages are mean milliseconds per frame (detect: per frame, and per call "
             "in brackets); fps is frames over wall time, decode to render; a frame is labelled when it "
             "shows at least one face with its label.",
             "- Target: >= 60 fps with every frame labelled and p95 frame time <= 25 ms.", "",
             head, "|" + "---|" * 13]
    for r in results:
        s = r["stages"]
        decode = f"{s[0]:.2f}" + (" (own thread)" if r["prefetch"] else "")
        ok = r["fps"] >= 60 and r["p95"] <= 25 and r["labelled"] == 1
        lines.append(f"| {r['name']}{' ✓' if ok else ''} | {CONFIGS[r['name']][5]} | {r['fps']:.1f} | "
                     f"{r['mean']:.1f} | {r['p50']:.1f} | {r['p95']:.1f} | {r['labelled'] * 100:.1f}% | {decode} | "
                     f"{s[1]:.2f} ({r['detect_call']:.1f}) | {s[2]:.2f} | {s[3]:.2f} | {s[4]:.3f} | {s[5]:.2f} |")
    lines += ["", "✓: meets the target."]
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ckpt", default=None, help="checkpoint or bundle (default: the bundled model)")
    ap.add_argument("--configs", default=",".join(CONFIGS), help=f"comma list of {', '.join(CONFIGS)}")
    ap.add_argument("--frames", type=int, default=None, help="stop after this many frames (default: all)")
    ap.add_argument("--threads", type=int, default=2, help="OpenCV threads")
    ap.add_argument("--torch-threads", type=int, default=1, help="torch threads (webcam.yaml's torch_threads)")
    ap.add_argument("--out", default=str(ROOT / "docs" / "benchmarks.md"), help="'-' prints the table only")
    args = ap.parse_args()
    names = [c for c in args.configs.split(",") if c]
    unknown = set(names) - set(CONFIGS)
    if unknown:
        sys.exit(f"unknown configs {sorted(unknown)}; choose from {', '.join(CONFIGS)}")
    threads = set_threads(args.threads, args.torch_threads)
    classifier = EmotionClassifier.from_path(args.ckpt)
    meta = classifier.loaded.meta
    model = (f"{classifier.loaded.model}, bundled ({meta.get('precision', '?')} weights)" if not args.ckpt
             else f"{classifier.loaded.model} from a training checkpoint")
    video = make_video()
    results = []
    for name in names:
        r = measure(name, classifier, video, args.frames)
        print(f"{name:16s} {r['fps']:6.1f} fps  p95 {r['p95']:5.1f} ms  labelled {r['labelled']:.1%}", flush=True)
        results.append(r)
    command = "python bench/live_fps.py" + (f" --ckpt {args.ckpt}" if args.ckpt else "") + (
        f" --torch-threads {args.torch_threads}" if args.torch_threads != 1 else "") + (
        f" --configs {args.configs}" if args.configs != ",".join(CONFIGS) else "")
    text = table(results, model, command, threads)
    if args.out == "-":
        print(text)
    else:
        write_section(SECTION, text, Path(args.out))
        print(f"wrote the '{SECTION}' section of {args.out}")


if __name__ == "__main__":
    main()

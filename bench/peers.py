"""Our pipeline against the `fer` package from PyPI (Haar + a TFLite mini-Xception), on the very same frames.

    python -m venv /work/peers-venv && /work/peers-venv/bin/pip install fer tensorflow-cpu "setuptools<81"
    python -m bench.peers --peer-python /work/peers-venv/bin/python

The peer cannot share this environment (its import name is `fer` too, and it needs TensorFlow), so
the frames of wolfgang_640x480.mp4 are decoded once here, saved as one .npy, and the peer runs in a
subprocess of its own virtual environment, started in an empty folder so that only its own `fer` is
found. Both sides detect and classify every frame (no frame skipping, no drawing): the peer's
`FER().detect_emotions(frame)` against our shipped pipeline (fer.inference.build.build_pipeline on
conf/webcam.yaml) with `smoothing.detect_every=1`.
Nothing is timed before a warm-up of 5 frames. Results replace the `## Peers` section of
docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from bench.common import ROOT, cpu_name, publish
from bench.live_fps import make_video
from bench.video import video_frames
from fer.api.settings import live_settings
from fer.inference.build import build_pipeline

SECTION = "## Peers"
WARMUP = 5

# Runs inside the peer's environment: frames in, per-frame milliseconds and face counts out (JSON).
PEER_SCRIPT = r"""
import json, os, sys, time
import numpy as np
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
from fer.fer import FER
import fer as peer
frames = np.load(sys.argv[1])
detector = FER()
for f in frames[:5]:
    detector.detect_emotions(f)
ms, faces = [], []
start = time.perf_counter()
for f in frames:
    t = time.perf_counter()
    found = detector.detect_emotions(f)
    ms.append((time.perf_counter() - t) * 1e3)
    faces.append(len(found))
wall = time.perf_counter() - start
try:
    from importlib.metadata import version
    v = version("fer")
except Exception:
    v = "?"
print(json.dumps({"ms": ms, "faces": faces, "wall": wall, "version": v}))
"""


def decode(video: Path, limit: int | None) -> np.ndarray:
    return np.stack(list(video_frames(video, limit)))


def our_settings(detector: str, backend: str) -> dict:
    """conf/webcam.yaml with `detector` (its file's values), every frame detected, on `backend`."""
    return live_settings({"detector": {"name": detector}, "smoothing": {"detect_every": 1},
                          "classifier": {"backend": backend}})


def ours(frames: np.ndarray, settings: dict) -> dict:
    pipe = build_pipeline(settings)
    for i, f in enumerate(frames[:WARMUP]):
        pipe.process(f, i)
    pipe.reset()
    ms, faces = [], []
    start = time.perf_counter()
    for i, f in enumerate(frames):
        t = time.perf_counter()
        result = pipe.process(f, i)
        ms.append((time.perf_counter() - t) * 1e3)
        faces.append(sum(face.fresh for face in result.faces))
    return {"ms": ms, "faces": faces, "wall": time.perf_counter() - start}


def peer(frames_file: Path, python: str) -> dict:
    with tempfile.TemporaryDirectory() as empty:  # so `import fer` finds the peer, not this repository
        out = subprocess.run([python, "-c", PEER_SCRIPT, str(frames_file)], cwd=empty, capture_output=True,
                             text=True, env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"})
    if out.returncode != 0:
        raise RuntimeError(f"the peer failed: {out.stderr.strip()[-800:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def row(name: str, what: str, r: dict) -> dict:
    n = len(r["ms"])
    return {"name": name, "what": what, "fps": n / r["wall"], "mean": float(np.mean(r["ms"])),
            "p95": float(np.percentile(r["ms"], 95)), "with_face": float(np.mean(np.asarray(r["faces"]) > 0)),
            "frames": n}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--peer-python", default=os.environ.get("FER_PEER_PYTHON", "/work/peers-venv/bin/python"),
                    help="python of the environment where `pip install fer tensorflow-cpu` was run")
    ap.add_argument("--frames", type=int, default=None, help="use only the first N frames")
    ap.add_argument("--out", default=str(ROOT / "docs" / "benchmarks.md"), help="'-' prints the table only")
    args = ap.parse_args()
    frames = decode(make_video(), args.frames)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        frames_file = Path(tmp) / "frames.npy"
        np.save(frames_file, frames)
        if Path(args.peer_python).is_file():
            try:
                p = peer(frames_file, args.peer_python)
                rows.append(row(f"`fer` {p['version']} (PyPI)", "FER(): Haar (OpenCV) + mini-Xception (TFLite)", p))
            except RuntimeError as e:
                print(f"warning: {e}", file=sys.stderr)
        else:
            print(f"warning: {args.peer_python} not found: the peer row is left out", file=sys.stderr)
    bundled = json.loads((ROOT / "fer" / "weights" / "fer2013-fastcnn48.json").read_text())
    net = f"{bundled['model']}-{bundled['model_kwargs'].get('width', '')}"  # the bundled network, e.g. fastcnn-48
    for backend in ("onnxruntime", "torch"):
        default = our_settings("centerface", backend)
        rows.append(row(f"ours, default detector, {backend}",
                        f"CenterFace {default['detector']['input_width']} px + {net}", ours(frames, default)))
        rows.append(row(f"ours, detector=haar, {backend}", f"Haar (reference parameters) + {net}",
                        ours(frames, our_settings("haar", backend))))
    for r in rows:
        print(f"{r['name']:40s} {r['fps']:6.1f} fps  mean {r['mean']:5.1f} ms  p95 {r['p95']:5.1f} ms  "
              f"face found {r['with_face']:.1%}", file=sys.stderr)
    peer_fps = rows[0]["fps"] if rows and rows[0]["name"].startswith("`fer`") else None
    lines = [SECTION, "", f"`python -m bench.peers{' --frames ' + str(args.frames) if args.frames else ''}`", "",
             f"- Machine: {cpu_name()}, {os.cpu_count()} cores, torch CPU capability "
             f"{torch.backends.cpu.get_cpu_capability()}; Python {platform.python_version()}. The peer runs in "
             "its own virtual environment (`pip install fer tensorflow-cpu \"setuptools<81\"`; the package "
             "still imports pkg_resources) as a subprocess, on the same decoded frames.",
             f"- Input: the {len(frames)} frames of wolfgang_640x480.mp4 (640x480, one face in every frame). "
             "Every frame is detected and classified on both sides: no frame skipping or drawing.",
             "- Ratio: frames per second divided by the peer's.", "",
             "| pipeline | what | fps | ratio to `fer` | mean ms | p95 ms | frames with a face found |",
             "|---|---|---:|---:|---:|---:|---:|"]
    for r in rows:
        ratio = f"{r['fps'] / peer_fps:.2f}" if peer_fps else "n/a"
        lines.append(f"| {r['name']} | {r['what']} | {r['fps']:.1f} | {ratio} | {r['mean']:.1f} | {r['p95']:.1f} | "
                     f"{r['with_face'] * 100:.1f}% |")
    text = "\n".join(lines) + "\n"
    publish(SECTION, text, args.out)


if __name__ == "__main__":
    main()

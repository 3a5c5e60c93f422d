"""Shared helpers for the live-inference tests: synthetic checkpoints, frames, videos and detectors."""

from __future__ import annotations

import importlib.util
import os
import struct
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest

from fer.api.settings import live_settings
from fer.constants import CLASSES
from fer.inference.build import build_pipeline, build_tracker
from fer.inference.classifier import EmotionClassifier
from fer.inference.pipeline import LivePipeline
from fer.inference.tracking import FaceTracker

MEDIA = Path(os.environ["FER_MEDIA"]) if os.environ.get("FER_MEDIA") else None
needs_media = pytest.mark.skipif(MEDIA is None or not MEDIA.is_dir(), reason="set FER_MEDIA to the media folder")


def media(name: str) -> Path:
    path = MEDIA / name
    if not path.exists():
        pytest.skip(f"{path} is missing")
    return path


def lightning_style_checkpoint(path: Path, model: str = "cnn4", seed: int = 0, **hparams) -> Path:
    """A checkpoint laid out like Lightning's (hyper_parameters + net.-prefixed state_dict)."""
    torch = pytest.importorskip("torch", reason="a training checkpoint needs PyTorch (ferkit[train])")
    from fer.training.module import FERModule

    torch.manual_seed(seed)
    module = FERModule(model=model, **hparams)
    torch.save({"pytorch-lightning_version": "2.5.0", "epoch": 0, "global_step": 0,
                "state_dict": module.state_dict(), "hyper_parameters": dict(module.hparams)}, path)
    return path


def tiny_model(folder: Path) -> Path:
    """A small classifier file: a random tiny checkpoint where PyTorch is installed, else (the light
    install) the smallest shipped .onnx model."""
    if importlib.util.find_spec("torch") is not None:
        return lightning_style_checkpoint(folder / "tiny.ckpt")
    from fer.checkpoints.bundled import WEIGHTS_DIR

    fp32 = [p for p in WEIGHTS_DIR.glob("fer2013-*.onnx") if "int8" not in p.name]
    return min(fp32, key=lambda p: p.stat().st_size)


def classifier(tmp_path: Path) -> EmotionClassifier:
    return EmotionClassifier.from_path(lightning_style_checkpoint(tmp_path / "tiny.ckpt"))


class FixedDetector:
    """Returns preset boxes (per call, cycling), counting its calls."""

    name = "fixed"

    def __init__(self, *boxes_per_call):
        self.boxes = [np.asarray(b, dtype=np.int32).reshape(-1, 4) for b in boxes_per_call] or [np.zeros((0, 4))]
        self.calls = 0

    def detect(self, frame):
        out = self.boxes[self.calls % len(self.boxes)]
        self.calls += 1
        return out


def smoothing(**changes) -> dict:
    """conf/webcam.yaml's settings with `smoothing` changed; boxes unsmoothed and faces classified at once
    unless asked, so a test sees each detection's own box on its own frame."""
    return live_settings({"smoothing": {"box_alpha": 1.0, "classify_in_background": False, **changes}})


def tracker(**changes) -> FaceTracker:
    """The shipped tracker (fer.inference.build) with the smoothing settings `changes`."""
    return build_tracker(smoothing(**changes))


def pipeline(tmp_path: Path, detector, detect_every: int = 1, **changes) -> LivePipeline:
    """The shipped pipeline (fer.inference.build) around `detector` and a tiny classifier."""
    return build_pipeline(smoothing(detect_every=detect_every, **changes), detector, classifier(tmp_path))


def synthetic_frame(h: int = 240, w: int = 320, seed: int = 0) -> np.ndarray:
    """A textured frame with two bright 'face' blobs (no real face: real detectors find nothing)."""
    rng = np.random.default_rng(seed)
    frame = rng.integers(0, 60, (h, w, 3), dtype=np.uint8)
    cv2.circle(frame, (80, 100), 40, (200, 190, 180), -1)
    cv2.circle(frame, (230, 110), 35, (120, 160, 220), -1)
    return frame


def write_video(path: Path, frames: int = 12, size: tuple[int, int] = (320, 240)) -> Path:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 10, size)
    for i in range(frames):
        writer.write(synthetic_frame(size[1], size[0], seed=i))
    writer.release()
    return path


def read_video(path: Path) -> list[np.ndarray]:
    cap = cv2.VideoCapture(str(path))
    frames = []
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        frames.append(frame)
    cap.release()
    return frames


__all__ = ["CLASSES", "MEDIA", "FixedDetector", "classifier", "lightning_style_checkpoint", "media",
           "needs_media", "pipeline", "read_video", "synthetic_frame", "write_video"]


def declared_png(width: int, height: int) -> bytes:
    """A real gray PNG of width x height zero pixels: a few hundred KB that decode to width * height bytes."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    deflate, row = zlib.compressobj(9), bytes(width + 1)
    idat = b"".join(deflate.compress(row) for _ in range(height)) + deflate.flush()
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", idat) + chunk(b"IEND", b""))

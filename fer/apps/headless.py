"""Headless runs: annotated video (or images) plus one JSON line of predictions per frame."""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from fer.apps.frame_loop import run_frames
from fer.apps.render import DEFAULT_STYLE, RenderStyle
from fer.constants import IMAGE_SUFFIXES
from fer.errors import ConfigError, OutputError
from fer.inference.pipeline import FrameResult, LivePipeline
from fer.inference.sources import FrameSource

log = logging.getLogger(__name__)

VIDEO_CODECS = {".mp4": "mp4v", ".avi": "MJPG", ".mkv": "mp4v", ".mov": "mp4v"}


@dataclass
class HeadlessSummary:
    frames: int = 0
    frames_with_faces: int = 0
    labels: dict[str, int] = field(default_factory=dict)  # primary-face label -> frames
    output: str = ""
    jsonl: str = ""
    written: list[str] = field(default_factory=list)
    seconds: float = 0.0  # wall time from the first frame's decoding to the output's closing (no start-up)
    frame_ms: list[float] = field(default_factory=list)  # per frame: decode, process, render, hand to writer

    @property
    def fps(self) -> float:
        return self.frames / self.seconds if self.seconds > 0 else 0.0

    @property
    def p95_ms(self) -> float:
        return float(np.percentile(self.frame_ms, 95)) if self.frame_ms else 0.0


def frame_record(result: FrameResult, index: int, name: str) -> dict[str, Any]:
    """One JSONL line: frame, boxes, probabilities and labels (per face) and the main face's label."""
    primary = result.primary
    return {
        "frame": index,
        "source": name,
        "detected": result.detected,
        "track_ids": [f.track_id for f in result.faces],
        "boxes": [list(f.box) for f in result.faces],
        "probabilities": [{c: round(float(p), 5) for c, p in zip(result.class_names, f.probs, strict=True)}
                          for f in result.faces],
        "labels": [f.label for f in result.faces],
        "label": primary.label if primary else None,
        "confidence": round(primary.confidence, 5) if primary else None,
    }


def output_paths(output: str | Path, source: FrameSource, jsonl: str | Path | None) -> tuple[Path, Path]:
    """Where the annotated media and the JSONL go. Image inputs get a folder (or one image file)."""
    out = Path(output)
    if source.kind == "images":
        single = len(getattr(source, "paths", [])) == 1 and out.suffix.lower() in IMAGE_SUFFIXES
        if not single and out.suffix:
            out = out.with_suffix("")  # out.mp4 -> out/ for a folder of images
    elif out.suffix.lower() not in VIDEO_CODECS:
        raise ConfigError(f"output={out} must end in one of {', '.join(VIDEO_CODECS)} for a video or camera")
    if jsonl is None:
        jsonl = out / "predictions.jsonl" if not out.suffix else out.with_suffix(".jsonl")
    return out, Path(jsonl)


class VideoSink:
    """Encodes on its own thread: OpenCV releases the GIL while encoding, so on two cores the
    encoder (about 3 ms per 640x480 frame with mp4v) overlaps the next frame's detection."""

    def __init__(self, path: Path, fps: float, queue_size: int = 4):
        self.path, self.fps, self.writer = path, fps, None
        self.queue: queue.Queue[np.ndarray | None] = queue.Queue(maxsize=queue_size)
        self.thread: threading.Thread | None = None

    def write(self, canvas: np.ndarray, name: str) -> None:
        if self.writer is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fourcc = cv2.VideoWriter_fourcc(*VIDEO_CODECS[self.path.suffix.lower()])
            h, w = canvas.shape[:2]
            self.writer = cv2.VideoWriter(str(self.path), fourcc, self.fps, (w, h))
            if not self.writer.isOpened():
                raise OutputError(f"OpenCV cannot write a video to {self.path}; try output=...avi")
            self.thread = threading.Thread(target=self._encode, name="video-writer", daemon=True)
            self.thread.start()
        self.queue.put(canvas)  # blocks when the encoder is behind: memory stays bounded

    def _encode(self) -> None:
        while (canvas := self.queue.get()) is not None:
            self.writer.write(canvas)

    def close(self) -> list[str]:
        if self.writer is None:
            return []
        self.queue.put(None)
        self.thread.join()
        self.writer.release()
        return [str(self.path)]


class ImageSink:
    def __init__(self, path: Path):
        self.path, self.written = path, []

    def write(self, canvas: np.ndarray, name: str) -> None:
        target = self.path if self.path.suffix else self.path / f"{Path(name).stem}_annotated.png"
        target.parent.mkdir(parents=True, exist_ok=True)
        if not cv2.imwrite(str(target), canvas):
            raise OutputError(f"could not write {target}")
        self.written.append(str(target))

    def close(self) -> list[str]:
        return self.written


def run_headless(pipeline: LivePipeline, source: FrameSource, output: str | Path,
                 jsonl: str | Path | None = None, style: RenderStyle = DEFAULT_STYLE,
                 max_frames: int | None = None) -> HeadlessSummary:
    out, jsonl_path = output_paths(output, source, jsonl)
    sink = ImageSink(out) if source.kind == "images" else VideoSink(out, source.fps)
    summary = HeadlessSummary(output=str(out), jsonl=str(jsonl_path))
    jsonl_path.parent.mkdir(parents=True, exist_ok=True)
    start = last = time.perf_counter()
    try:
        with jsonl_path.open("w") as lines:
            for step in run_frames(pipeline, source, style, max_frames):
                sink.write(step.canvas, step.frame.name)
                record = frame_record(step.result, step.frame.index, step.frame.name)
                lines.write(json.dumps(record) + "\n")
                now = time.perf_counter()
                summary.frame_ms.append((now - last) * 1e3)
                last = now
                summary.frames += 1
                if record["label"] is not None:
                    summary.frames_with_faces += 1
                    summary.labels[record["label"]] = summary.labels.get(record["label"], 0) + 1
    finally:
        summary.written = sink.close()
        summary.seconds = time.perf_counter() - start  # the last frames' encoding included
    return summary

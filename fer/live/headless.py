"""Headless runs: annotated video (or images) plus one JSON line of predictions per frame."""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from fer.constants import IMAGE_SUFFIXES
from fer.errors import ConfigError, OutputError
from fer.inference.pipeline import FrameResult, LivePipeline
from fer.inference.sources import FrameSource
from fer.live.frame_loop import run_frames
from fer.live.output_files import (
    check_not_input_folder,
    check_outputs,
    commit,
    discard,
    ensure_writable_folder,
    partial_path,
)
from fer.live.render import DEFAULT_STYLE, RenderStyle

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


def annotated_name(name: str) -> str:
    """face.jpg -> face_jpg_annotated.png: the suffix stays in the name, so face.jpg and face.png never collide."""
    path = Path(name)
    return f"{path.stem}_{path.suffix.lstrip('.')}_annotated.png" if path.suffix else f"{path.name}_annotated.png"


class VideoSink:
    """Writes under a partial name and encodes on its own thread; `close(keep=True)` renames the file
    into place, `keep=False` drops it. OpenCV releases the GIL while encoding, so on two cores the
    encoder (about 3 ms per 640x480 frame with mp4v) overlaps the next frame's detection."""

    def __init__(self, path: Path, fps: float, queue_size: int = 4):
        self.path, self.fps, self.writer = path, fps, None
        self.partial = partial_path(path)
        self.queue: queue.Queue[np.ndarray | None] = queue.Queue(maxsize=queue_size)
        self.thread: threading.Thread | None = None

    def write(self, canvas: np.ndarray, name: str) -> None:
        if self.writer is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fourcc = cv2.VideoWriter_fourcc(*VIDEO_CODECS[self.path.suffix.lower()])
            h, w = canvas.shape[:2]
            self.writer = cv2.VideoWriter(str(self.partial), fourcc, self.fps, (w, h))
            if not self.writer.isOpened():
                raise OutputError(f"OpenCV cannot encode a {self.path.suffix} video on this system "
                                  f"({self.path}); try output=...avi")
            self.thread = threading.Thread(target=self._encode, name="video-writer", daemon=True)
            self.thread.start()
        self.queue.put(canvas)  # blocks when the encoder is behind: memory stays bounded

    def _encode(self) -> None:
        while (canvas := self.queue.get()) is not None:
            self.writer.write(canvas)

    def close(self, keep: bool = True) -> list[str]:
        if self.writer is None:
            return []
        self.queue.put(None)
        self.thread.join()
        self.writer.release()
        self.writer = None
        if not keep:
            discard(self.partial)
            return []
        commit(self.partial, self.path)
        return [str(self.path)]


class ImageSink:
    """One annotated PNG per image, each written whole (partial name, then renamed)."""

    def __init__(self, path: Path):
        self.path, self.written = path, []

    def target(self, name: str) -> Path:
        return self.path if self.path.suffix else self.path / annotated_name(name)

    def write(self, canvas: np.ndarray, name: str) -> None:
        target = self.target(name)
        if str(target) in self.written:  # two inputs mapped to one name: never overwrite this run's output
            raise OutputError(f"{target} was already written by this run (from another input named like {name})")
        ok, png = cv2.imencode(".png", canvas)
        if not ok:
            raise OutputError(f"could not encode {target}")
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = partial_path(target)
        partial.write_bytes(png.tobytes())
        commit(partial, target)
        self.written.append(str(target))

    def close(self, keep: bool = True) -> list[str]:
        return self.written


def source_files(source: FrameSource) -> list[Path]:
    """The files a source reads: none for a camera."""
    paths = getattr(source, "paths", None)
    if paths is None:
        path = getattr(source, "path", None)
        paths = [path] if path is not None else []
    return [Path(p) for p in paths]


def check_headless_outputs(source: FrameSource, out: Path, jsonl_path: Path, sink: VideoSink | ImageSink,
                           inputs: Sequence[tuple[str, Path]] = ()) -> None:
    """Before anything is written: no output on an input or another output, and every folder writable."""
    files = source_files(source)
    if isinstance(sink, ImageSink):
        if not out.suffix:
            check_not_input_folder(out, getattr(source, "folder", None))
        planned = [("output", sink.target(p.name)) for p in files]
    else:
        planned = [("output", out)]
    planned.append(("jsonl", jsonl_path))
    check_outputs(planned, [*(("source", p) for p in files), *inputs])
    for folder in dict.fromkeys(p.parent for _, p in planned):
        ensure_writable_folder(folder)


def run_headless(pipeline: LivePipeline, source: FrameSource, output: str | Path,
                 jsonl: str | Path | None = None, style: RenderStyle = DEFAULT_STYLE,
                 max_frames: int | None = None, inputs: Sequence[tuple[str, Path]] = ()) -> HeadlessSummary:
    """Write the annotated media and the JSONL. `inputs`: other files the run reads (the checkpoint),
    which no output may overwrite. An interrupted run (Ctrl-C, SIGTERM) keeps what it wrote; a failed
    one leaves any earlier file of the same name untouched."""
    out, jsonl_path = output_paths(output, source, jsonl)
    sink = ImageSink(out) if source.kind == "images" else VideoSink(out, source.fps)
    check_headless_outputs(source, out, jsonl_path, sink, inputs)
    summary = HeadlessSummary(output=str(out), jsonl=str(jsonl_path))
    partial_jsonl = partial_path(jsonl_path)
    keep = False
    start = last = time.perf_counter()
    try:
        with partial_jsonl.open("w") as lines:
            try:
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
                keep = True
            except KeyboardInterrupt:
                keep = True  # Ctrl-C or SIGTERM: what was written so far is a valid result
                raise
    finally:
        summary.written = sink.close(keep=keep)
        summary.seconds = time.perf_counter() - start  # the last frames' encoding included
        if keep:
            commit(partial_jsonl, jsonl_path)
        else:
            discard(partial_jsonl)
    return summary

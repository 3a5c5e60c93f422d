"""Headless runs: annotated video (or images) plus one JSON line of predictions per frame."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from fer.api.rows import incomplete_note
from fer.constants import IMAGE_SUFFIXES
from fer.errors import ConfigError, OutputError
from fer.inference.frame_loop import run_frames
from fer.inference.pipeline import FrameResult, LivePipeline
from fer.inference.sources import FrameSource
from fer.live.render import DEFAULT_STYLE, RenderStyle, render
from fer.live.sinks import VIDEO_CODECS, ImageSink, VideoSink
from fer.outputs import (
    PendingFile,
    check_destination,
    check_not_input_folder,
    check_outputs,
    ensure_writable_folder,
    is_sink,
    output_error,
)
from fer.progress import progress

log = logging.getLogger(__name__)

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
    frames_announced: int | None = None  # what the video's container says it holds (None: camera, images)
    incomplete: bool = False  # the video ended before the announced frames were read (damaged or cut short)

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


def source_files(source: FrameSource) -> list[Path]:
    """The files a source reads: none for a camera."""
    paths = getattr(source, "paths", None)
    if paths is None:
        path = getattr(source, "path", None)
        paths = [path] if path is not None else []
    return [Path(p) for p in paths]


def check_headless_outputs(source: FrameSource, out: Path, jsonl_path: Path, sink: VideoSink | ImageSink,
                           inputs: Sequence[tuple[str, Path]] = ()) -> None:
    """Before anything is written: every destination writable as what it must be (a video file, an image
    folder, a JSONL file or sink), no output on an input or another output, every folder writable."""
    files = source_files(source)
    if isinstance(sink, ImageSink):
        if not out.suffix:
            if out.exists() and not out.is_dir():
                raise OutputError(f"output={out} is a file, but annotated images go into a folder: name a folder, "
                                  f"e.g. output={out}_annotated/")
            check_not_input_folder(out, getattr(source, "folder", None))
        planned = [("output", sink.target(p.name)) for p in files]
        for _, target in planned:
            check_destination(target, "output", sink_ok=False)
    else:
        check_destination(out, "output", VIDEO_CODECS, sink_ok=False)
        planned = [("output", out)]
    check_destination(jsonl_path, "jsonl")
    planned.append(("jsonl", jsonl_path))
    check_outputs(planned, [*(("source", p) for p in files), *inputs])
    for folder in dict.fromkeys(p.parent for _, p in planned if not is_sink(p)):
        ensure_writable_folder(folder)


def write_line(lines: Any, record: dict[str, Any], path: Path) -> None:
    """One JSONL line; a full disk shows here (when the buffer is flushed), long before the run ends."""
    try:
        lines.write(json.dumps(record) + "\n")
    except OSError as e:
        raise output_error(e, path) from None


def finish_outputs(sink: VideoSink | ImageSink, jsonl: PendingFile, lines: Any) -> list[str]:
    """Close and check every output, then rename them into place: either all are replaced or none is."""
    sink.finish()
    jsonl.close_file(lines)
    jsonl.seal()
    written = sink.commit()
    jsonl.commit()
    return written


def note_source_end(summary: HeadlessSummary, source: FrameSource) -> None:
    """Record how many frames the video announced, and warn when fewer could be read (a damaged file)."""
    summary.frames_announced = getattr(source, "frames_announced", None)
    summary.incomplete = bool(getattr(source, "incomplete", False))
    if summary.incomplete:
        log.warning("%s", incomplete_note(str(getattr(source, "name", "the video")), summary.frames_announced,
                                          getattr(source, "frames_read", summary.frames)))


def frames_to_come(source: FrameSource, max_frames: int | None) -> int | None:
    """What the progress bar counts to: the images of a folder, the frames a video announces."""
    paths = getattr(source, "paths", None)
    total = len(paths) if paths is not None else getattr(source, "frames_announced", None)
    return total if max_frames is None or total is None else min(total, max_frames)


def run_headless(pipeline: LivePipeline, source: FrameSource, output: str | Path,
                 jsonl: str | Path | None = None, style: RenderStyle = DEFAULT_STYLE,
                 max_frames: int | None = None, inputs: Sequence[tuple[str, Path]] = (),
                 progress_bar: bool | None = None) -> HeadlessSummary:
    """Write the annotated media and the JSONL. `inputs`: other files the run reads (the checkpoint),
    which no output may overwrite; progress_bar: over a video or a folder, see fer.progress. An interrupted run (Ctrl-C, SIGTERM) keeps what it wrote; a failed
    one (a write error, a full disk, a bug) leaves any earlier file of the same name untouched."""
    out, jsonl_path = output_paths(output, source, jsonl)
    sink = ImageSink(out) if source.kind == "images" else VideoSink(out, source.fps)
    check_headless_outputs(source, out, jsonl_path, sink, inputs)
    summary = HeadlessSummary(output=str(out), jsonl=str(jsonl_path))
    jsonl_file = PendingFile(jsonl_path)
    lines = jsonl_file.open("w")
    start = last = time.perf_counter()
    try:
        try:
            steps = run_frames(pipeline, source, partial(render, style=style), max_frames)
            for step in progress(steps, total=frames_to_come(source, max_frames), unit="frame",
                                 desc=getattr(source, "name", source.kind),
                                 enabled=False if source.live else progress_bar):
                sink.write(step.canvas, step.frame.name)
                record = frame_record(step.result, step.frame.index, step.frame.name)
                write_line(lines, record, jsonl_path)
                now = time.perf_counter()
                summary.frame_ms.append((now - last) * 1e3)
                last = now
                summary.frames += 1
                if record["label"] is not None:
                    summary.frames_with_faces += 1
                    summary.labels[record["label"]] = summary.labels.get(record["label"], 0) + 1
        except KeyboardInterrupt:
            # Ctrl-C or SIGTERM: what was written so far is a valid result, if it is whole on disk.
            summary.written = finish_outputs(sink, jsonl_file, lines)
            raise
        summary.written = finish_outputs(sink, jsonl_file, lines)
    except BaseException:
        sink.abandon()  # no-ops for outputs already renamed into place
        with suppress(OSError):
            lines.close()
        jsonl_file.discard()
        raise
    finally:
        summary.seconds = time.perf_counter() - start  # the last frames' encoding included
    note_source_end(summary, source)
    return summary

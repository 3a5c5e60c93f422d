"""One clip of a corpus: its CSV written as its frames are analysed, then its record. A clip that cannot
be read (missing, not a video, damaged from its start) is a `failed` record with the reason; a clip that
ends before the frames it announces is `incomplete`, its CSV covering the frames read."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path

import cv2

from fer.api.analysis_writer import AnalysisWriter
from fer.api.recognizer import Recognizer
from fer.corpus.listing import Clip
from fer.corpus.records import ClipRecord, csv_name, source_stamp, write_record
from fer.errors import OutputError, SourceError

log = logging.getLogger(__name__)
REPORT_EVERY = 25  # frames between two progress reports


def analyze_clip(recognizer: Recognizer, clip: Clip, out: Path, fingerprint: str, sample_fps: float | None,
                 max_frames: int | None, report: Callable[[int], object] = lambda frames: None) -> ClipRecord:
    """Analyse `clip` into OUT; `report(n)` hears of every n frames analysed. An OutputError (a full disk)
    is raised: it ends the run, where a bad clip ends only itself."""
    start = time.perf_counter()
    record = ClipRecord(clip.name, "failed", fingerprint=fingerprint)
    csv_path = out / csv_name(clip)
    try:
        record.source_size, record.source_mtime_ns = source_stamp(clip.path)
        run = recognizer.analyze_frames(clip.path, max_frames=max_frames, sample_fps=sample_fps)
    except (OSError, cv2.error) as e:
        if isinstance(e, OutputError):
            raise
        record.reason = reason_of(e, clip)
        return finish(out, record, start, csv_path)
    pending = 0
    try:
        with AnalysisWriter(csv_path, recognizer.class_names, clip.name, run.fps) as writer:
            for frame in run:
                writer.add(frame)
                pending += 1
                if pending == REPORT_EVERY:
                    report(pending)
                    pending = 0
            writer.finish(run.frames_announced, run.frames_read, run.incomplete)
    except (SourceError, cv2.error) as e:  # the video broke while being read
        record.reason = reason_of(e, clip)
        return finish(out, record, start, csv_path)
    report(pending)
    record.status = "incomplete" if run.incomplete else "ok"
    if run.incomplete:
        record.reason = f"announces {run.frames_announced} frames, {run.frames_read} could be read"
    record.fps, record.duration_s = round(run.fps, 4), round(run.frames_read / run.fps, 3) if run.fps else 0.0
    record.frames_announced, record.frames_read, record.frames_analysed = \
        run.frames_announced, run.frames_read, writer.frames
    record.faces, record.tracks, record.labels = writer.faces, len(writer.track_ids), dict(sorted(writer.labels.items()))
    record.csv = csv_name(clip)
    return finish(out, record, start)


def reason_of(error: BaseException, clip: Clip) -> str:
    """The error's first line, naming the clip as the summary does (not by where the corpus lies today)."""
    text = str(error).strip().splitlines()
    return (text[0] if text else type(error).__name__).replace(str(clip.path), clip.name)[:300]


def finish(out: Path, record: ClipRecord, start: float, stale: Path | None = None) -> ClipRecord:
    """Write the record; a failed clip's CSV of an earlier run (of another version of the file) goes."""
    record.wall_s = round(time.perf_counter() - start, 3)
    if record.status == "failed":
        log.warning("%s failed: %s", record.name, record.reason)
        if stale is not None:
            stale.unlink(missing_ok=True)
    write_record(out, record)
    return record

"""One video through the pipeline on the one frame loop, frame by frame: what `Recognizer.analyze`, `ferkit
analyze` and the corpus read. Nothing is kept but the counts, so a run over a long video stays small."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from fer.api.faces import Face
from fer.api.rows import AnalyzedFrame, incomplete_note
from fer.inference.frame_loop import run_frames
from fer.inference.pipeline import LivePipeline
from fer.inference.prefetch import Prefetch
from fer.inference.sources import CaptureSource

log = logging.getLogger(__name__)


class VideoRun:
    """Iterate for the AnalyzedFrames, once. Then `frames_announced`, `frames_read`, `incomplete` and
    `truncated` say how the video ended (a damaged one is incomplete: it ends before the frames it
    announces)."""

    def __init__(self, pipeline: LivePipeline, source: CaptureSource, path: Path, max_frames: int | None = None,
                 prefetch: bool = True, guard: AbstractContextManager[Any] | None = None):
        self.pipeline, self.path, self.max_frames, self.guard = pipeline, path, max_frames, guard
        self.source: Prefetch | CaptureSource = Prefetch(source) if prefetch else source
        self.kept_of = source.kept_of
        self.fps = source.fps
        self.width = self.height = 0
        self.frames_announced: int | None = source.frames_announced
        self.frames_read = self.analysed = 0
        self.incomplete = self.truncated = False

    @property
    def expected_frames(self) -> int | None:
        """How many frames the run will analyse, from the count the video announces (None: unknown)."""
        if self.frames_announced is None:
            return self.max_frames
        kept = self.kept_of(self.frames_announced)
        return kept if self.max_frames is None else min(kept, self.max_frames)

    def __iter__(self) -> Iterator[AnalyzedFrame]:
        last = -1
        with self.source:
            steps = run_frames(self.pipeline, self.source, max_frames=self.max_frames, guard=self.guard)
            try:
                for step in steps:
                    self.height, self.width = step.frame.image.shape[:2]
                    last = step.frame.index
                    self.analysed += 1
                    names = step.result.class_names
                    yield AnalyzedFrame(last, last / self.fps,
                                        [Face.from_result(f, names) for f in step.result.faces])
            finally:
                steps.close()  # stops a read-ahead thread before the video is closed under it
            stopped = self.max_frames is not None and self.analysed >= self.max_frames
            announced = self.frames_announced
            self.truncated = stopped and (announced is None or last + 1 < announced)
            self.frames_read = last + 1 if self.truncated else max(last + 1, self.source.frames_read)
            self.incomplete = not self.truncated and bool(self.source.incomplete)
        if self.incomplete:
            log.warning("%s", incomplete_note(str(self.path), announced, self.frames_read))

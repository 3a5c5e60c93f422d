"""The one way a frame goes through a pipeline (`process_frame`), and the one frame loop that pulls frames
from a source (`run_frames`): the window, headless runs, `analyze` and the corpus run the loop; the
service's streams, whose frames arrive one by one, and photos (`Recognizer.predict`) take the same step.

Decode, process, optionally draw, time each stage. Drawing is the caller's (the window and headless runs
pass fer.live.render's), so a run that only analyses never draws.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Generator
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass

import numpy as np

from fer.inference.pipeline import FrameResult, LivePipeline
from fer.inference.sources import Frame, FrameSource
from fer.signals import raise_if_stopped

# (the frame, its result, frames per second or None for a photo) -> the picture to show or write
Draw = Callable[[np.ndarray, FrameResult, "float | None"], np.ndarray]


class FpsMeter:
    """Frames per second over the last `window` frames (wall clock between ticks)."""

    def __init__(self, window: int = 30):
        self.times: deque[float] = deque(maxlen=window + 1)

    def tick(self, now: float | None = None) -> float:
        self.times.append(time.perf_counter() if now is None else now)
        return self.fps

    @property
    def fps(self) -> float:
        if len(self.times) < 2 or self.times[-1] <= self.times[0]:
            return 0.0
        return (len(self.times) - 1) / (self.times[-1] - self.times[0])


@dataclass
class Step:
    frame: Frame
    result: FrameResult
    canvas: np.ndarray | None  # what `draw` made (None when the run does not draw)
    fps: float
    frame_ms: float  # wall time of this whole step, decode to drawing


def process_frame(pipeline: LivePipeline, image: np.ndarray, index: int | None = None, photo: bool = False,
                  live: bool = False, guard: AbstractContextManager | None = None) -> FrameResult:
    """One frame through the pipeline, `guard` held (pipelines sharing one model across threads). A photo
    is a scene of its own: the tracks of the last one are dropped first. index: None counts on from the
    pipeline's last frame."""
    with guard or nullcontext():
        if photo:
            pipeline.reset()
        return pipeline.process(image, 0 if photo else index, photo=photo, live=live)


def run_frames(pipeline: LivePipeline, source: FrameSource, draw: Draw | None = None,
               max_frames: int | None = None, guard: AbstractContextManager | None = None) -> Generator[Step, None, None]:
    """Yield one Step per source frame. Photos reset the tracker between frames.

    The pipeline counts the frames it is given (a sampled video's kept frames are consecutive to it);
    `guard` is held while a frame is processed (pipelines sharing one model across threads).
    Frames of a file get results that depend on the frames alone; a camera's take them when ready
    (LivePipeline's `live`)."""
    photo = source.kind == "images"
    meter = FpsMeter()
    frames = iter(source)
    count = 0
    while max_frames is None or count < max_frames:
        raise_if_stopped()  # a SIGINT/SIGTERM that arrived during the last frame ends the run here
        t0 = time.perf_counter()
        frame = next(frames, None)
        if frame is None:
            return
        t1 = time.perf_counter()
        result = process_frame(pipeline, frame.image, count, photo, source.live, guard)
        t2 = time.perf_counter()
        fps = meter.tick()
        canvas = draw(frame.image, result, None if photo else fps) if draw is not None else None
        t3 = time.perf_counter()
        result.timings["decode"] = (t1 - t0) * 1e3
        result.timings["render"] = (t3 - t2) * 1e3
        count += 1
        yield Step(frame, result, canvas, fps, (t3 - t0) * 1e3)

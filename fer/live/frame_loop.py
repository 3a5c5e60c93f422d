"""The frame loop shared by the window and headless runs: decode, process, render, time each stage."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from fer.inference.pipeline import FrameResult, LivePipeline
from fer.inference.sources import Frame, FrameSource
from fer.live.render import DEFAULT_STYLE, RenderStyle, render
from fer.live.signals import raise_if_stopped


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
    canvas: np.ndarray
    fps: float
    frame_ms: float  # wall time of this whole step, decode to render


def run_frames(pipeline: LivePipeline, source: FrameSource, style: RenderStyle = DEFAULT_STYLE,
               max_frames: int | None = None) -> Iterator[Step]:
    """Yield one rendered Step per source frame. Still images reset the tracker between frames."""
    still = source.kind == "images"
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
        if still:
            pipeline.reset()
        result = pipeline.process(frame.image, 0 if still else frame.index, still=still)
        t2 = time.perf_counter()
        fps = meter.tick()
        canvas = render(frame.image, result, fps=None if still else fps, style=style)
        t3 = time.perf_counter()
        result.timings["decode"] = (t1 - t0) * 1e3
        result.timings["render"] = (t3 - t2) * 1e3
        count += 1
        yield Step(frame, result, canvas, fps, (t3 - t0) * 1e3)

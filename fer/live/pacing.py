"""Showing a video file at its own frame rate: the window would otherwise play it as fast as its frames
are analysed, several times too fast on a quick machine. Cameras bring their own pace, and headless
runs write every frame as fast as they can."""

from __future__ import annotations

import time
from collections.abc import Callable


class Pacer:
    """`wait()` before each frame is shown returns once that frame is due: 1/fps after the previous one.

    A frame that is already late by more than a frame's time (analysis slower than the video, or a
    pause) restarts the schedule from now, so the video never rushes to catch up.
    """

    def __init__(self, fps: float, clock: Callable[[], float] = time.perf_counter,
                 sleep: Callable[[float], None] = time.sleep):
        self.interval = 1.0 / fps
        self.clock, self.sleep = clock, sleep
        self.due: float | None = None

    def wait(self) -> None:
        now = self.clock()
        if self.due is None or now > self.due + self.interval:
            self.due = now
        elif self.due > now:
            self.sleep(self.due - now)
        self.due += self.interval

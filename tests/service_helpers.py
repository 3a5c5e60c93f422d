"""Helpers for the service tests: a real uvicorn server on a free port, a fake-camera .y4m from a clip, a slow
detector."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import cv2
import uvicorn
from live_helpers import FixedDetector

from fer.service.ports import free_port


@contextmanager
def live_server(app, port: int | None = None) -> Iterator[str]:
    """Serve `app` with uvicorn on a thread; yields its base URL and stops it afterwards."""
    port = port or free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                           ws="websockets-sansio"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


def write_y4m(video: Path, out: Path, frames: int = 30, size: tuple[int, int] = (640, 360), start: int = 0) -> Path:
    """A YUV4MPEG2 file (what Chromium's fake camera reads, looping) from `frames` frames of a clip."""
    cap = cv2.VideoCapture(str(video))
    cap.set(cv2.CAP_PROP_POS_FRAMES, start)
    w, h = size
    with out.open("wb") as f:
        f.write(f"YUV4MPEG2 W{w} H{h} F30:1 Ip A1:1 C420jpeg\n".encode())
        for _ in range(frames):
            ok, frame = cap.read()
            if not ok:
                break
            f.write(b"FRAME\n")
            f.write(cv2.cvtColor(cv2.resize(frame, size), cv2.COLOR_BGR2YUV_I420).tobytes())
    cap.release()
    return out


class SlowDetector(FixedDetector):
    """One fixed box after a pause, so frames take a while; `calls` says how many were detected."""

    def __init__(self, seconds: float, box=(40, 60, 80, 80)):
        super().__init__([list(box)])
        self.seconds = seconds

    def detect(self, frame):
        time.sleep(self.seconds)
        return super().detect(frame)

"""Reading a frame source ahead on a background thread (`Prefetch`), so decoding overlaps detection and
classification."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Iterator

from fer.inference.sources import Frame, FrameSource


class Prefetch(FrameSource):
    """Decode frames on a background thread so decoding overlaps detection and classification.

    A file source is read ahead by at most `depth` frames; nothing is dropped.
    """

    def __init__(self, source: FrameSource, depth: int = 4):
        self.source, self.kind, self.fps, self.live = source, source.kind, source.fps, source.live
        self.name = getattr(source, "name", source.kind)
        self.path = getattr(source, "path", None)
        self.depth = depth
        self.decode_ms: list[float] = []

    def __iter__(self) -> Iterator[Frame]:
        q: queue.Queue = queue.Queue(maxsize=self.depth)
        stop = threading.Event()

        def work() -> None:
            it = iter(self.source)
            try:
                while not stop.is_set():
                    t0 = time.perf_counter()
                    item = next(it, None)
                    self.decode_ms.append((time.perf_counter() - t0) * 1e3)
                    q.put(item)
                    if item is None:
                        return
            except Exception as e:  # surfaced in the consumer's thread
                q.put(e)

        thread = threading.Thread(target=work, daemon=True)
        thread.start()
        try:
            while True:
                item = q.get()
                if isinstance(item, Exception):
                    raise item
                if item is None:
                    return
                yield item
        finally:
            stop.set()
            while thread.is_alive():  # unblock a producer waiting on a full queue
                try:
                    q.get_nowait()
                except queue.Empty:
                    thread.join(0.01)

    @property
    def frames_announced(self) -> int | None:
        return getattr(self.source, "frames_announced", None)

    @property
    def frames_read(self) -> int:
        return getattr(self.source, "frames_read", 0)

    @property
    def incomplete(self) -> bool:
        return bool(getattr(self.source, "incomplete", False))

    def close(self) -> None:
        self.source.close()

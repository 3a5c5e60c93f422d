"""Where a headless run's annotated frames go: one video, encoded on its own thread and checked before it is
kept, or one PNG per image. Both write under partial names and are committed only when the run ends whole."""

from __future__ import annotations

import logging
import queue
import threading
from contextlib import suppress
from pathlib import Path

import cv2
import numpy as np

from fer.errors import OutputError
from fer.outputs import PendingFile, write_atomically

log = logging.getLogger(__name__)

VIDEO_CODECS = {".mp4": "mp4v", ".avi": "MJPG", ".mkv": "mp4v", ".mov": "mp4v"}


def annotated_name(name: str) -> str:
    """face.jpg -> face_jpg_annotated.png: the suffix stays in the name, so face.jpg and face.png never collide."""
    path = Path(name)
    return f"{path.stem}_{path.suffix.lstrip('.')}_annotated.png" if path.suffix else f"{path.name}_annotated.png"


def quiet_opencv_writes() -> int | None:
    """OpenCV warns once per frame it fails to write (a full disk: hundreds of lines); the sink checks the
    finished file instead and says it once. Returns the level to restore."""
    logging_mod = getattr(getattr(cv2, "utils", None), "logging", None)
    if logging_mod is None:
        return None
    level = logging_mod.getLogLevel()
    logging_mod.setLogLevel(min(level, logging_mod.LOG_LEVEL_ERROR))
    return level


def restore_opencv_log(level: int | None) -> None:
    logging_mod = getattr(getattr(cv2, "utils", None), "logging", None)
    if logging_mod is not None and level is not None:
        logging_mod.setLogLevel(level)


def mp4_is_whole(path: Path) -> bool:
    """True when the file's top-level MP4 boxes fill it exactly and include the index (`moov`)."""
    size, pos, kinds = path.stat().st_size, 0, set()
    with path.open("rb") as f:
        while pos < size:
            f.seek(pos)
            head = f.read(8)
            if len(head) < 8:
                return False
            length, kind = int.from_bytes(head[:4], "big"), head[4:]
            if length == 1:  # a 64-bit size follows
                length = int.from_bytes(f.read(8), "big")
            elif length == 0:  # the box runs to the end of the file
                length = size - pos
            if length < 8:
                return False
            kinds.add(kind)
            pos += length
    return pos == size and b"moov" in kinds


class VideoSink:
    """Writes under a partial name and encodes on its own thread. OpenCV releases the GIL while encoding,
    so on two cores the encoder overlaps the next frame's detection.

    OpenCV's VideoWriter reports almost no errors (a full disk only logs a warning), so `finish()` reads
    the closed file back: it must open and hold every frame written, or the run ends with an OutputError
    and the partial file is removed. Only then does `commit()` rename it into place."""

    def __init__(self, path: Path, fps: float, queue_size: int = 4):
        self.path, self.fps = path, fps
        self.writer: cv2.VideoWriter | None = None
        self.pending = PendingFile(path)
        self.partial = self.pending.path
        self.frames = 0
        self.error: OutputError | None = None  # set by the encoder thread, raised in the caller's
        self.queue: queue.Queue[np.ndarray | None] = queue.Queue(maxsize=queue_size)
        self.thread: threading.Thread | None = None
        self.log_level: int | None = None

    def write(self, canvas: np.ndarray, name: str) -> None:
        if self.error is not None:
            raise self.error
        if self.writer is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # The module function, not VideoWriter.fourcc, which OpenCV's stubs name instead: tests replace the class.
            fourcc = cv2.VideoWriter_fourcc(*VIDEO_CODECS[self.path.suffix.lower()])  # type: ignore[attr-defined]
            h, w = canvas.shape[:2]
            self.writer = cv2.VideoWriter(str(self.partial), fourcc, self.fps, (w, h))
            if not self.writer.isOpened():
                self.pending.discard()
                raise OutputError(f"OpenCV cannot encode a {self.path.suffix} video on this system "
                                  f"({self.path}); try output=...avi")
            self.log_level = quiet_opencv_writes()
            self.thread = threading.Thread(target=self._encode, name="video-writer", daemon=True)
            self.thread.start()
        self.queue.put(canvas)  # blocks when the encoder is behind: memory stays bounded
        self.frames += 1

    def _encode(self) -> None:
        while (canvas := self.queue.get()) is not None:
            if self.error is None:  # after an error, keep draining so the caller never blocks
                assert self.writer is not None  # opened before the thread started
                try:
                    self.writer.write(canvas)
                except cv2.error as e:
                    self.error = OutputError(f"OpenCV could not encode a frame of {self.path}: {e.err or e}")

    def _stop(self) -> None:
        if self.thread is not None:
            self.queue.put(None)
            self.thread.join()
            self.thread = None
        if self.writer is not None:
            writer, self.writer = self.writer, None
            try:
                writer.release()
            except cv2.error as e:
                self.error = self.error or OutputError(f"OpenCV could not finish {self.path}: {e.err or e}")
            finally:
                restore_opencv_log(self.log_level)

    def verify(self, partial: Path) -> None:
        """The closed file must open and announce every frame written: a truncated file does not.
        An MP4/MOV without its index (the `moov` box, written last) is known broken without asking FFmpeg,
        which would print its own complaint."""
        readable, count = False, 0
        if partial.stat().st_size > 0 and (partial.suffix.lower() not in (".mp4", ".mov") or mp4_is_whole(partial)):
            capture = cv2.VideoCapture(str(partial))
            try:
                count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) if capture.isOpened() else 0
                readable = capture.isOpened() and capture.read()[0]
            finally:
                capture.release()
        if not readable or count != self.frames:
            found = f"it holds {count} of the {self.frames} frames written" if readable else \
                f"it cannot be read back after {self.frames} frames were written"
            raise OutputError(f"the video written to {self.path} is incomplete ({found}; is the disk full?): "
                              "nothing was replaced. Free some space or write elsewhere")

    def finish(self) -> None:
        """Close the encoder and check the file; raises OutputError (and removes it) when it is not whole."""
        opened = self.thread is not None
        self._stop()
        if self.error is not None:
            self.pending.discard()
            raise self.error
        if opened:
            self.pending.seal(self.verify)

    def commit(self) -> list[str]:
        if self.frames == 0:
            return []
        self.pending.commit()
        return [str(self.path)]

    def abandon(self) -> None:
        with suppress(OutputError):
            self._stop()
        self.pending.discard()


class ImageSink:
    """One annotated image per input, each written whole (partial name, then renamed) as soon as it is made."""

    def __init__(self, path: Path):
        self.path = path
        self.written: list[str] = []

    def target(self, name: str) -> Path:
        return self.path if self.path.suffix else self.path / annotated_name(name)

    def write(self, canvas: np.ndarray, name: str) -> None:
        target = self.target(name)
        if str(target) in self.written:  # two inputs mapped to one name: never overwrite this run's output
            raise OutputError(f"{target} was already written by this run (from another input named like {name})")
        ok, encoded = cv2.imencode(target.suffix.lower() if target.suffix else ".png", canvas)
        if not ok:
            raise OutputError(f"could not encode {target}")
        write_atomically(target, encoded.tobytes())
        self.written.append(str(target))

    def finish(self) -> None:
        pass

    def commit(self) -> list[str]:
        return self.written

    def abandon(self) -> None:
        pass

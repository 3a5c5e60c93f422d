"""Frame sources: a camera (with fallback over indices), a video file, an image or a folder of images.

`open_source(spec)` decides which from the spec: an integer is a camera index, a folder is a set
of images, a file with an image suffix is one image, any other file is a video.
"""

from __future__ import annotations

import logging
import stat
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from fer.constants import IMAGE_SUFFIXES
from fer.errors import SourceError
from fer.inference.images import read_image

log = logging.getLogger(__name__)


@dataclass
class Frame:
    index: int
    image: np.ndarray  # BGR uint8
    name: str  # file name for images, "<kind>:<index>" otherwise


class FrameSource:
    kind = "source"
    fps = 30.0
    live = False  # frames come at their own pace (camera): never wait for the consumer

    def __iter__(self) -> Iterator[Frame]:
        raise NotImplementedError

    def close(self) -> None:
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def kept_count(frames: int, fps: float, sample_fps: float | None) -> int:
    """How many of a video's first `frames` frames sample_fps keeps (see CaptureSource.keeps)."""
    if not sample_fps or sample_fps >= fps or frames <= 0:
        return max(frames, 0)
    return int((frames - 1) * (sample_fps / fps)) + 1


class CaptureSource(FrameSource):
    """A camera or a video file through an OpenCV-style capture (read() -> (ok, frame))."""

    def __init__(self, capture: Any, kind: str, name: str, first: np.ndarray, path: Path | None = None,
                 sample_fps: float | None = None):
        self.capture, self.kind, self.name, self.path = capture, kind, name, path
        self.live = kind == "camera"
        fps = float(capture.get(cv2.CAP_PROP_FPS) or 0)
        self.fps = fps if 1 <= fps <= 240 else 30.0
        self.sample_fps = sample_fps if sample_fps and sample_fps < self.fps else None  # None: every frame
        self._first: np.ndarray | None = first  # handed out once, by the first iteration
        # A file's container says how many frames it holds; a damaged file ends sooner (OpenCV just stops).
        announced = int(capture.get(cv2.CAP_PROP_FRAME_COUNT) or 0) if kind == "video" else 0
        self.frames_announced: int | None = announced if announced > 0 else None
        self.frames_read = 0
        self.ended = False  # the capture ran out of frames (not stopped early by the reader)

    @property
    def incomplete(self) -> bool:
        """True when the video ended before the frames its container announces were read."""
        return self.ended and self.frames_announced is not None and self.frames_read < self.frames_announced

    def keeps(self, index: int) -> bool:
        """With sample_fps, the first frame of each 1/sample_fps-second slot of the video is kept."""
        if self.sample_fps is None or index == 0:
            return True
        slot = self.sample_fps / self.fps
        return int(index * slot) != int((index - 1) * slot)

    def kept_of(self, frames: int) -> int:
        """How many of the first `frames` frames `keeps`."""
        return kept_count(frames, self.fps, self.sample_fps)

    def __iter__(self) -> Iterator[Frame]:
        index = 0
        frame: np.ndarray | None = self._first
        self._first = None
        while frame is not None:
            self.frames_read = index + 1
            yield Frame(index, frame, f"{self.kind}:{index}")
            index += 1
            while not self.keeps(index):
                # grab() moves past a frame without converting and copying it out, as read() would
                if not self.capture.grab():
                    self.ended = True
                    return
                self.frames_read = index + 1
                index += 1
            ok, frame = self.capture.read()
            if not ok:
                frame = None
                self.ended = True

    def close(self) -> None:
        self.capture.release()


@contextmanager
def quiet_opencv():
    """Silence OpenCV's own log while probing camera indices that are expected to fail."""
    utils = getattr(cv2, "utils", None)
    logging_mod = getattr(utils, "logging", None)
    if logging_mod is None:
        yield
        return
    level = logging_mod.getLogLevel()
    logging_mod.setLogLevel(logging_mod.LOG_LEVEL_SILENT)
    try:
        yield
    finally:
        logging_mod.setLogLevel(level)


def open_camera(index: int, fallback: Sequence[int] = (1, 2, 3), width: int | None = None,
                height: int | None = None, factory: Callable[[int], Any] = cv2.VideoCapture) -> CaptureSource:
    """The first camera among [index, *fallback] that opens and delivers a frame."""
    tried = []
    with quiet_opencv():
        for i in dict.fromkeys([int(index), *(int(f) for f in fallback)]):
            tried.append(i)
            cap = factory(i)
            if cap is not None and cap.isOpened():
                if width and height:
                    cap.set(cv2.CAP_PROP_FRAME_WIDTH, width)
                    cap.set(cv2.CAP_PROP_FRAME_HEIGHT, height)
                ok, frame = cap.read()
                if ok and frame is not None:
                    if i != int(index):
                        log.warning("camera %d did not open; using camera %d", index, i)
                    return CaptureSource(cap, "camera", f"camera {i}", frame)
            if cap is not None:
                cap.release()
    raise SourceError(f"no camera could be opened (tried indices {', '.join(map(str, tried))}). Connect a "
                      "camera, pick another with source=N, or read a file: source=video.mp4, source=photo.jpg "
                      "or source=folder/ (add headless=true output=out.mp4 where there is no display).")


def open_video(path: str | Path, factory: Callable[[str], Any] = cv2.VideoCapture,
               sample_fps: float | None = None) -> CaptureSource:
    """A video file; sample_fps=N yields N frames per second of video (None: every frame)."""
    path = Path(path)
    cap = factory(str(path))
    if cap is None or not cap.isOpened():
        raise SourceError(f"cannot open {path} as a video: OpenCV cannot decode it. Is it a video file "
                          f"(.mp4, .avi, ...) and not damaged?")
    ok, frame = cap.read()
    if not ok or frame is None:
        cap.release()
        raise SourceError(f"{path} opened but no frame could be read from it (empty or damaged video)")
    return CaptureSource(cap, "video", path.name, frame, path, sample_fps)


class ImageSource(FrameSource):
    """Still images, one frame each; unreadable files in a folder are skipped with a warning."""

    kind = "images"

    def __init__(self, paths: Sequence[Path], name: str, folder: Path | None = None, max_pixels: int | None = None):
        self.paths, self.name, self.folder, self.max_pixels = list(paths), name, folder, max_pixels

    def __iter__(self) -> Iterator[Frame]:
        index = 0
        for path in self.paths:
            try:
                image = read_image(path, self.max_pixels)
            except SourceError as e:
                log.warning("skipped: %s", e)
                continue
            yield Frame(index, image, path.name)
            index += 1


def list_images(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


def open_images(path: str | Path, max_pixels: int | None = None) -> ImageSource:
    """max_pixels: images declaring more are refused before decoding (skipped in a folder)."""
    path = Path(path)
    if path.is_dir():
        paths = list_images(path)
        if not paths:
            raise SourceError(f"no images in {path} (looked for {', '.join(IMAGE_SUFFIXES)})")
        return ImageSource(paths, path.name, folder=path, max_pixels=max_pixels)
    read_image(path, max_pixels)  # refused here, with its reason, rather than skipped later
    return ImageSource([path], path.name, max_pixels=max_pixels)


def check_readable_kind(path: Path) -> None:
    """A regular file, a folder or a device node (a camera such as /dev/video0) can be read; a named pipe
    or a socket would block the run forever on open, deaf to Ctrl-C, so it is refused at once."""
    mode = path.stat().st_mode
    if stat.S_ISREG(mode) or stat.S_ISDIR(mode) or stat.S_ISCHR(mode):
        return
    kind = "a named pipe (FIFO)" if stat.S_ISFIFO(mode) else "a socket" if stat.S_ISSOCK(mode) else "not a file"
    raise SourceError(f"source={path} is {kind}, which cannot be read as a video or image: save the stream to "
                      "a file first, or pass a camera index (source=0)")


def is_camera_spec(spec: Any) -> bool:
    return isinstance(spec, int) or (isinstance(spec, str) and spec.strip().isdigit())


def open_source(spec: Any, fallback: Sequence[int] = (), width: int | None = None,
                height: int | None = None, factory: Callable[[Any], Any] = cv2.VideoCapture,
                max_pixels: int | None = None) -> FrameSource:
    """fallback: the cameras tried, in order, when camera `spec` does not open (live runs pass
    conf/webcam.yaml's `camera.fallback`)."""
    if spec is None or (isinstance(spec, str) and not spec.strip()):
        raise SourceError("no source given: pass source=0 (camera), a video, an image or a folder")
    if is_camera_spec(spec):
        return open_camera(int(spec), fallback, width, height, factory)
    path = Path(str(spec)).expanduser()
    if not path.exists():
        raise SourceError(f"source not found: {path}. Pass a camera index (source=0), a video file, "
                          "an image file or a folder of images.")
    check_readable_kind(path)
    if path.is_dir() or path.suffix.lower() in IMAGE_SUFFIXES:
        return open_images(path, max_pixels)
    return open_video(path, factory)

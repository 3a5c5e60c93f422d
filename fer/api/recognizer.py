"""The Python API: faces and their expressions from an image, a video or a stream of frames, in a few lines.

    import fer
    r = fer.Recognizer()                        # bundled model, the webcam's default detector
    faces = r.predict("photo.jpg")              # [Face(box=..., label='happy', confidence=0.91, ...)]
    a = r.analyze("clip.mp4"); a.to_csv("clip.csv"); a.plot_timeline("timeline.png")
    a.to_dataframe()                            # the rows in pandas, where pandas is installed

It runs the one live pipeline (`fer.inference.build.build_pipeline`): detector, the training preprocessing,
the classifier, and per-face tracking with smoothing for videos and streams, each frame taking the one step
of `fer.inference.frame_loop` (`process_frame`, in the loop `run_frames` for videos).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from fer.api.analysis import Analysis
from fer.api.faces import Face
from fer.api.settings import live_settings, webcam_part
from fer.api.video_run import VideoRun
from fer.errors import SourceError
from fer.inference.build import build_pipeline
from fer.inference.detectors import FaceDetector
from fer.inference.frame_loop import process_frame
from fer.inference.images import to_bgr
from fer.inference.pipeline import FrameResult, LivePipeline
from fer.inference.sources import open_video
from fer.numbers import positive_number, whole_number

__all__ = ["Analysis", "Face", "Recognizer", "Stream"]


class Stream:
    """Consecutive frames of one video or camera: faces are tracked and each keeps its own smoothing.

    Two streams never share tracks; they share the recognizer's detector and model. live=True (a camera's
    frames) takes each background classification as soon as it is ready; live=False (frames of a file)
    applies it at a fixed frame, so the results do not depend on the machine's load.
    """

    def __init__(self, recognizer: Recognizer, live: bool = True):
        self._recognizer = recognizer
        self.pipeline = recognizer.new_pipeline()
        self.live = live
        self.frames = 0

    def process(self, image: Any) -> list[Face]:
        return self.process_result(to_bgr(image, self._recognizer.max_pixels))[0]

    def process_result(self, frame: np.ndarray) -> tuple[list[Face], FrameResult]:
        """A BGR frame -> (faces, the pipeline's FrameResult with per-stage timings)."""
        result = process_frame(self.pipeline, frame, live=self.live, guard=self._recognizer.lock)
        self.frames += 1
        return [Face.from_result(f, result.class_names) for f in result.faces], result

    def reset(self) -> None:
        self.pipeline.reset()


class Recognizer:
    """Face detector + expression classifier.

    ckpt: a .ckpt from scripts/train.py, a bundle .pt or an exported .onnx (None: the bundled model).
    detector: None (the webcam config's), a name ("haar", "centerface") or an object with
      `detect(bgr_frame) -> (N, 4) x, y, w, h boxes`.
    settings: changes to the live pipeline config, nested like conf/webcam.yaml, whose values (and its
      detector's file in conf/detector/) fill in every key left out.
    Images declaring more than settings' `max_image_pixels` are refused (TooManyPixels) before decoding.
    Building it sets torch to one thread, like the live app (see fer.inference.classifier.set_threads).
    Thread-safe: frames are processed one at a time.
    """

    def __init__(self, ckpt: str | Path | None = None, detector: Any = None, device: str | None = None,
                 settings: dict[str, Any] | None = None):
        update = dict(settings or {})
        if ckpt is not None:
            update["ckpt"] = str(ckpt)
        if device is not None:
            update["device"] = device
        if isinstance(detector, str) and (update.get("detector") or {}).get("name") != detector:
            update["detector"] = {"name": detector}  # another detector than configured: its own file's values
        cfg = live_settings(update)
        self.settings = cfg
        self.max_pixels = whole_number(cfg["max_image_pixels"], "max_image_pixels", 1)
        self._photos = build_pipeline(cfg)  # photos; its detector and model are shared by every stream
        if detector is not None and not isinstance(detector, str):
            if not callable(getattr(detector, "detect", None)):
                raise TypeError("detector must be a name or an object with a detect(frame) method")
            self._photos.detector = detector
        self.lock = threading.Lock()

    @classmethod
    def from_config(cls, cfg: dict[str, Any]) -> Recognizer:
        """From a composed webcam-style config (what the Hydra entry points hold); its keys that are not
        webcam settings (a service's port, analyze's csv) belong to the entry point and are left out."""
        return cls(settings=webcam_part(cfg))

    @property
    def class_names(self) -> list[str]:
        return self._photos.class_names

    @property
    def detector(self) -> FaceDetector:
        return self._photos.detector

    @property
    def model_info(self) -> dict[str, str]:
        """Which network and file classify the faces, and how (for logs and the service's health check)."""
        backend = self._photos.classifier.backend
        return {"model": str(backend.model), "path": str(backend.path), "backend": backend.name}

    def new_pipeline(self) -> LivePipeline:
        """A pipeline with its own tracker, sharing this recognizer's detector and model."""
        return build_pipeline(self.settings, self._photos.detector, self._photos.classifier)

    def stream(self, live: bool = True) -> Stream:
        return Stream(self, live)

    def predict(self, image: Any) -> list[Face]:
        """Every face in one image: a path, encoded bytes, a BGR or gray numpy array, or a PIL image."""
        result = process_frame(self._photos, to_bgr(image, self.max_pixels), photo=True, guard=self.lock)
        return [Face.from_result(f, result.class_names) for f in result.faces]

    def analyze_frames(self, video: str | Path, max_frames: int | None = None,
                       sample_fps: float | None = None) -> VideoRun:
        """A video's frames as they are analysed (iterate once for AnalyzedFrames), faces tracked across
        frames; nothing is kept, so `AnalysisWriter` or your own loop can go through hours of video.

        sample_fps: analyse that many frames per second of video, skipping the others (None: every frame).
        The results depend on the frames, model and settings alone: never on the machine's load."""
        if not isinstance(video, (str, os.PathLike)):
            raise SourceError(f"analyze reads a video file: pass its path, not a {type(video).__name__} "
                              "(write bytes to a file first)")
        whole_number(max_frames, "max_frames", 1, allow_none=True)
        if sample_fps is not None:
            positive_number(sample_fps, "sample_fps")
        path = Path(video).expanduser()
        if not path.is_file():
            raise SourceError(f"video not found: {path}")
        source = open_video(path, sample_fps=sample_fps)
        return VideoRun(self.new_pipeline(), source, path, max_frames, prefetch=bool(self.settings["prefetch"]),
                        guard=self.lock)

    def analyze(self, video: str | Path, max_frames: int | None = None, sample_fps: float | None = None,
                on_frame: Callable[[int], None] | None = None) -> Analysis:
        """Every frame of a video (or sample_fps frames a second), faces tracked across frames -> an Analysis
        held in memory (rows, CSV, JSON, timeline). For long videos, see `analyze_frames`.

        on_frame: called with each frame's index as it is analysed; an exception it raises ends the analysis
        (the service stops so when its client has gone).
        """
        return Analysis.collect(self.analyze_frames(video, max_frames, sample_fps), self.class_names, on_frame)

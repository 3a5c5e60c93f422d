"""Inference: face detectors, the emotion classifier, per-face tracking, frame sources and the frame pipeline,
built by one factory (`build_pipeline`) from the webcam settings."""

from fer.inference.build import build_pipeline
from fer.inference.classifier import EmotionClassifier
from fer.inference.detectors import FaceDetector, create_detector, list_detectors
from fer.inference.pipeline import FaceResult, FrameResult, LivePipeline
from fer.inference.sources import open_source
from fer.inference.tracking import FaceTracker, FrameSkipper

__all__ = [
    "EmotionClassifier", "FaceDetector", "FaceResult", "FaceTracker", "FrameResult", "FrameSkipper",
    "LivePipeline", "build_pipeline", "create_detector", "list_detectors", "open_source",
]

"""Live inference: detectors, checkpoint loading, classification, smoothing, sources and runs."""

from fer.inference.checkpoint import CheckpointError, export_bundle, load_model
from fer.inference.classifier import EmotionClassifier
from fer.inference.detectors import DetectorError, FaceDetector, create_detector, list_detectors
from fer.inference.pipeline import FaceResult, FrameResult, LivePipeline
from fer.inference.smoothing import FaceTracker, FrameSkipper
from fer.inference.sources import SourceError, open_source

__all__ = [
    "CheckpointError", "DetectorError", "EmotionClassifier", "FaceDetector", "FaceResult", "FaceTracker",
    "FrameResult", "FrameSkipper", "LivePipeline", "SourceError", "create_detector", "export_bundle",
    "list_detectors", "load_model", "open_source",
]

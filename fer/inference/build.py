"""The one factory of the live pipeline (detector, classifier, tracker) from the webcam settings as plain dicts.

Every entry point builds here: the window and headless runs, `ferkit analyze` and the corpus (through
fer.Recognizer), the Python API, the service's streams and the benches. `cfg` is the webcam config with
every key present (conf/webcam.yaml composed by Hydra, or fer.api.settings.live_settings): the defaults
live in those files only, never here.
"""

from __future__ import annotations

from typing import Any

from fer.inference.classifier import EmotionClassifier, classifier_threads, set_threads
from fer.inference.detectors import FaceDetector, create_detector
from fer.inference.pipeline import LivePipeline
from fer.inference.tracking import FaceTracker


def build_classifier(cfg: dict[str, Any]) -> EmotionClassifier:
    """The model of `ckpt` (None: the bundled one) on `classifier.backend`, with OpenCV's and the
    classifier's threads set as configured."""
    clf = cfg["classifier"]
    threads = classifier_threads(clf["threads"])
    set_threads(cfg["threads"], threads)
    return EmotionClassifier.from_path(cfg["ckpt"], device=cfg["device"], backend=clf["backend"], threads=threads)


def build_detector(cfg: dict[str, Any]) -> FaceDetector:
    det = dict(cfg["detector"])  # conf/detector/<name>.yaml: name + its arguments
    return create_detector(det.pop("name"), **det)


def build_tracker(cfg: dict[str, Any]) -> FaceTracker:
    sm = cfg["smoothing"]
    return FaceTracker(iou_threshold=sm["iou_threshold"], ema_alpha=sm["ema_alpha"], persistence=sm["persistence"],
                       box_alpha=sm["box_alpha"], max_tracks=sm["max_tracks"])


def build_pipeline(cfg: dict[str, Any], detector: FaceDetector | None = None,
                   classifier: EmotionClassifier | None = None) -> LivePipeline:
    """A pipeline with a tracker of its own; `detector` and `classifier`, where given, are shared ones
    (several streams of one model), else built from `cfg` too."""
    sm = cfg["smoothing"]
    return LivePipeline(detector or build_detector(cfg), classifier or build_classifier(cfg), build_tracker(cfg),
                        detect_every=sm["detect_every"], classify_in_background=sm["classify_in_background"])

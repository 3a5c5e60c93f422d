"""Assemble the live pipeline (detector, classifier, tracker) from the webcam settings as plain dicts."""

from __future__ import annotations

from typing import Any

from fer.inference.classifier import EmotionClassifier, set_threads
from fer.inference.detectors import create_detector
from fer.inference.pipeline import LivePipeline
from fer.inference.tracking import FaceTracker


def build_pipeline(cfg: dict[str, Any]) -> LivePipeline:
    """cfg: the webcam config as plain dicts, every key present (conf/webcam.yaml composed by Hydra, or
    fer.api.settings.live_settings): the defaults live in those files only, never here."""
    clf = cfg["classifier"]
    threads = int(clf["threads"] or 1)
    set_threads(cfg["threads"], threads)
    classifier = EmotionClassifier.from_path(cfg["ckpt"], device=cfg["device"], backend=clf["backend"],
                                             threads=threads)
    det = dict(cfg["detector"])  # conf/detector/<name>.yaml: name + its arguments
    detector = create_detector(det.pop("name"), **det)
    sm = cfg["smoothing"]
    tracker = FaceTracker(iou_threshold=sm["iou_threshold"], ema_alpha=sm["ema_alpha"],
                          persistence=sm["persistence"], box_alpha=sm["box_alpha"])
    return LivePipeline(detector, classifier, tracker, detect_every=sm["detect_every"], stagger=sm["stagger"])

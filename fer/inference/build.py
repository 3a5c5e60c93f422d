"""Assemble the live pipeline (detector, classifier, tracker) from the webcam settings as plain dicts."""

from __future__ import annotations

from typing import Any

from fer.inference.classifier import EmotionClassifier, set_threads
from fer.inference.detectors import create_detector
from fer.inference.pipeline import LivePipeline
from fer.inference.tracking import FaceTracker


def build_pipeline(cfg: dict[str, Any]) -> LivePipeline:
    """cfg: the webcam config as plain dicts (see conf/webcam.yaml)."""
    clf = cfg.get("classifier") or {}
    threads = int(clf.get("threads") or 1)
    set_threads(cfg.get("threads"), threads)
    classifier = EmotionClassifier.from_path(cfg.get("ckpt"), device=cfg.get("device", "cpu"),
                                             backend=clf.get("backend", "auto"), threads=threads)
    det = dict(cfg.get("detector") or {"name": "centerface"})  # conf/detector/<name>.yaml: name + its arguments
    detector = create_detector(det.pop("name", "centerface"), **det)
    sm = cfg.get("smoothing") or {}
    tracker = FaceTracker(iou_threshold=sm.get("iou_threshold", 0.3), ema_alpha=sm.get("ema_alpha", 0.5),
                          persistence=sm.get("persistence", 15), box_alpha=sm.get("box_alpha", 1.0))
    return LivePipeline(detector, classifier, tracker, detect_every=sm.get("detect_every", 2),
                        stagger=sm.get("stagger", False))

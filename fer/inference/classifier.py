"""The expression classifier for live use: a backend (ONNX Runtime or torch) plus the training preprocessing."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from fer.checkpoints.bundled import bundled_model_path
from fer.data.preprocess import preprocess_faces
from fer.inference.backends import ClassifierBackend, open_backend, resolve_backend


def set_threads(threads: int | None = None, torch_threads: int | None = 1) -> tuple[int, int]:
    """OpenCV gets `threads` (None: every core) for detection; torch gets `torch_threads`.

    One torch thread by default: a batch of a few 48x48 faces gains little from intra-op
    parallelism, and torch's OpenMP workers spin while they wait for each other, so with two
    threads any other busy process on a 2-core machine turns a 4 ms forward pass into ~200 ms.
    torch is set only when something has already imported it (the torch backend, a checkpoint):
    the ONNX Runtime path never loads it. Returns (OpenCV threads, torch threads).
    """
    n = threads or os.cpu_count() or 1
    t = torch_threads or n
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_num_threads(t)
    cv2.setNumThreads(n)
    return n, t


class EmotionClassifier:
    """Batch of face crops -> class probabilities, using fer.data.preprocess like training does."""

    def __init__(self, backend: ClassifierBackend):
        self.backend = backend
        self.class_names = list(backend.class_names)

    @property
    def meta(self) -> dict:
        return self.backend.meta

    @classmethod
    def from_path(cls, path: str | Path | None = None, device: str = "cpu", backend: str | None = "auto",
                  threads: int = 1) -> EmotionClassifier:
        """A .ckpt, bundle .pt or .onnx file; None loads the bundled model. backend: auto|onnxruntime|torch.
        threads: the classifier's threads (ONNX Runtime's intra-op threads, or torch's)."""
        if not path:
            path = bundled_model_path(onnx=resolve_backend(backend, device) == "onnxruntime")
        opened = open_backend(path, backend, threads, device)
        if opened.name == "torch":  # torch was loaded just now: the classifier's threads are its threads
            sys.modules["torch"].set_num_threads(max(1, int(threads)))
        return cls(opened)

    def preprocess(self, crops: Sequence[np.ndarray]) -> np.ndarray:
        """Face crops -> (N,1,48,48) float batch in [0,1]: the training preprocessing, not a copy."""
        return preprocess_faces(crops)

    def predict_batch(self, batch: np.ndarray) -> np.ndarray:
        """(N,1,48,48) model input -> (N, C) float32 probabilities; all faces in one forward pass."""
        return self.backend.probs(batch)

    def predict(self, crops: Sequence[np.ndarray]) -> np.ndarray:
        return self.predict_batch(self.preprocess(crops))

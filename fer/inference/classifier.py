"""The expression classifier (`EmotionClassifier`): face crops through the training preprocessing into
one of the backends of fer.inference.backends, plus the thread settings the live app and evaluation share.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from fer.checkpoints.bundled import bundled_model_path
from fer.data.preprocess import gray48_faces, preprocess_faces, to_model_input
from fer.inference.backends import ClassifierBackend, open_backend, resolve_backend


def classifier_threads(threads: int | None) -> int:
    """`classifier.threads` as a count: null means every core, in live runs and in evaluation alike."""
    return threads or os.cpu_count() or 1


def set_threads(threads: int | None = None, torch_threads: int | None = 1) -> tuple[int, int]:
    """OpenCV gets `threads` (None: every core) for detection; torch gets `torch_threads`.

    One torch thread by default: a batch of a few 48x48 faces gains little from intra-op
    parallelism, and torch's OpenMP workers spin while they wait for each other, so with two
    threads any other busy process on a 2-core machine makes a forward pass many times slower.
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

    def faces48(self, crops: Sequence[np.ndarray]) -> np.ndarray:
        """Face crops -> their 48x48 uint8 gray images (N,48,48), the first half of `preprocess`: kept
        to show the face exactly as the model saw it."""
        return gray48_faces(crops)

    def model_input(self, faces48: np.ndarray) -> np.ndarray:
        """`faces48`'s images -> the (N,1,48,48) float batch: the second half of `preprocess`."""
        return to_model_input(faces48)

    def predict_batch(self, batch: np.ndarray) -> np.ndarray:
        """(N,1,48,48) model input -> (N, C) float32 probabilities; all faces in one forward pass."""
        return self.backend.probs(batch)

    def predict(self, crops: Sequence[np.ndarray]) -> np.ndarray:
        return self.predict_batch(self.preprocess(crops))

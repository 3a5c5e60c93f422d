"""The expression classifier for live use: a loaded network plus the training preprocessing."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np
import torch

from fer.checkpoints.bundled import bundled_model_path
from fer.checkpoints.loading import LoadedModel, load_model
from fer.data.preprocess import preprocess_faces


def set_threads(threads: int | None = None, torch_threads: int | None = 1) -> tuple[int, int]:
    """OpenCV gets `threads` (None: every core) for detection; torch gets `torch_threads`.

    One torch thread by default: a batch of a few 48x48 faces gains little from intra-op
    parallelism, and torch's OpenMP workers spin while they wait for each other, so with two
    threads any other busy process on a 2-core machine turns a 4 ms forward pass into ~200 ms.
    Returns (OpenCV threads, torch threads).
    """
    n = threads or os.cpu_count() or 1
    t = torch_threads or n
    torch.set_num_threads(t)
    cv2.setNumThreads(n)
    return n, t


class EmotionClassifier:
    """Batch of face crops -> class probabilities, using fer.data.preprocess like training does."""

    def __init__(self, loaded: LoadedModel, device: str = "cpu"):
        self.loaded = loaded
        self.class_names = list(loaded.class_names)
        self.device = torch.device(device)
        # channels_last lets oneDNN pick its faster NHWC convolution kernels (about 25% on CPU at batch 1).
        self.memory_format = torch.channels_last if self.device.type == "cpu" else torch.contiguous_format
        self.net = loaded.net.to(self.device, memory_format=self.memory_format).eval()

    @classmethod
    def from_path(cls, path: str | Path | None = None, device: str = "cpu") -> EmotionClassifier:
        """A .ckpt or bundle; None loads the bundled model."""
        return cls(load_model(path if path else bundled_model_path()), device=device)

    def preprocess(self, crops: Sequence[np.ndarray]) -> torch.Tensor:
        """Face crops -> (N,1,48,48) float batch in [0,1]: the training preprocessing, not a copy."""
        return preprocess_faces(crops)

    @torch.inference_mode()
    def predict_batch(self, batch: torch.Tensor) -> np.ndarray:
        """(N,1,48,48) model input -> (N, C) float32 probabilities; all faces in one forward pass."""
        if len(batch) == 0:
            return np.zeros((0, len(self.class_names)), dtype=np.float32)
        logits = self.net(batch.to(self.device).contiguous(memory_format=self.memory_format))
        return logits.float().softmax(1).cpu().numpy()

    def predict(self, crops: Sequence[np.ndarray]) -> np.ndarray:
        return self.predict_batch(self.preprocess(crops))

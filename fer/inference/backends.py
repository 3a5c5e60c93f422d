"""Classifier backends: the same network run by PyTorch or by ONNX Runtime, behind one interface.

    backend = open_backend("model.onnx")                 # auto: onnxruntime when installed, else torch
    backend = open_backend("best.ckpt", "onnxruntime")   # a checkpoint is exported to ONNX in memory
    probs = backend.probs(batch)                          # (N,1,48,48) float in [0,1] -> (N, C) numpy

ONNX Runtime is the default because it is 1.5-2x faster than PyTorch eager on small batches of
48x48 faces on CPU (docs/benchmarks.md) and starts no OpenMP pool. Both return the same
probabilities within fp32 rounding.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch

from fer.checkpoints.loading import LoadedModel, load_model
from fer.checkpoints.onnx_export import INPUT_NAME, OUTPUT_NAME, metadata_from_props, onnx_bytes
from fer.errors import CheckpointError, ConfigError

BACKENDS = ("auto", "onnxruntime", "torch")


def onnxruntime_available() -> bool:
    return importlib.util.find_spec("onnxruntime") is not None


def resolve_backend(name: str | None) -> str:
    """'auto' (or None) -> onnxruntime where installed, torch otherwise."""
    name = name or "auto"
    if name not in BACKENDS:
        raise ConfigError(f"classifier.backend={name!r} is not one of {', '.join(BACKENDS)}")
    if name == "auto":
        return "onnxruntime" if onnxruntime_available() else "torch"
    if name == "onnxruntime" and not onnxruntime_available():
        raise ConfigError("classifier.backend=onnxruntime needs the onnxruntime package "
                          "(pip install onnxruntime), or use classifier.backend=torch")
    return name


def is_onnx(path: str | Path) -> bool:
    return Path(path).suffix.lower() == ".onnx"


class ClassifierBackend(Protocol):
    name: str
    class_names: list[str]
    model: str  # the registry name of the network
    meta: dict[str, Any]
    path: str

    def logits(self, batch: torch.Tensor) -> torch.Tensor:
        """(N,1,48,48) float32 in [0,1] -> (N, C) float32 logits."""
        ...

    def probs(self, batch: torch.Tensor) -> np.ndarray:
        """(N,1,48,48) float32 in [0,1] -> (N, C) float32 probabilities."""
        ...


class _Probs:
    def probs(self, batch: torch.Tensor) -> np.ndarray:
        if len(batch) == 0:
            return np.zeros((0, len(self.class_names)), dtype=np.float32)
        return self.logits(batch).float().softmax(1).cpu().numpy()

    def __call__(self, batch: torch.Tensor) -> torch.Tensor:  # a plain logits callable, e.g. for TTA
        return self.logits(batch)


class TorchBackend(_Probs):
    name = "torch"

    def __init__(self, loaded: LoadedModel, device: str = "cpu"):
        self.class_names, self.model, self.meta, self.path = loaded.class_names, loaded.model, loaded.meta, loaded.path
        self.device = torch.device(device)
        # channels_last lets oneDNN pick its faster NHWC convolution kernels (about 25% on CPU at batch 1).
        self.memory_format = torch.channels_last if self.device.type == "cpu" else torch.contiguous_format
        self.net = loaded.net.to(self.device, memory_format=self.memory_format).eval()

    @torch.inference_mode()
    def logits(self, batch: torch.Tensor) -> torch.Tensor:
        return self.net(batch.to(self.device).contiguous(memory_format=self.memory_format))


class OnnxRuntimeBackend(_Probs):
    """threads: ONNX Runtime's intra-op threads (1 suits one or two live faces; more for batch evaluation)."""

    name = "onnxruntime"

    def __init__(self, model: str | Path | bytes, threads: int = 1, path: str = "",
                 class_names: list[str] | None = None, meta: dict[str, Any] | None = None):
        import onnxruntime as ort

        opts = ort.SessionOptions()
        opts.intra_op_num_threads = max(1, int(threads))
        opts.inter_op_num_threads = 1
        opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        # Idle workers would otherwise spin for a while after each run, stealing a core from decoding,
        # detection and anything else on a 2-core machine.
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.path = path or (str(model) if not isinstance(model, bytes) else "")
        source = model if isinstance(model, bytes) else str(model)
        try:
            self.session = ort.InferenceSession(source, opts, providers=["CPUExecutionProvider"])
        except Exception as e:  # ORT raises its own pybind types (InvalidProtobuf, Fail, NoSuchFile)
            raise CheckpointError(f"{self.path or 'the model'} cannot be opened by ONNX Runtime "
                                  f"(corrupt, truncated or not an ONNX model?): {str(e)[:200]}") from None
        if class_names is None:
            class_names, meta = metadata_from_props(self.session.get_modelmeta().custom_metadata_map, self.path)
        self.class_names, self.meta = list(class_names), dict(meta or {})
        self.model = str(self.meta.get("model", "onnx"))
        self.threads = opts.intra_op_num_threads

    @classmethod
    def from_loaded(cls, loaded: LoadedModel, threads: int = 1) -> OnnxRuntimeBackend:
        """A checkpoint's network exported to ONNX in memory (about a second), then run by ONNX Runtime."""
        meta = {"model": loaded.model, **loaded.meta}
        return cls(onnx_bytes(loaded), threads, loaded.path, loaded.class_names, meta)

    def logits(self, batch: torch.Tensor) -> torch.Tensor:
        x = batch.detach().cpu().float().contiguous().numpy()
        return torch.from_numpy(self.session.run([OUTPUT_NAME], {INPUT_NAME: x})[0])


def open_backend(path: str | Path, backend: str | None = "auto", threads: int = 1,
                 device: str = "cpu") -> ClassifierBackend:
    """A .ckpt, bundle .pt or exported .onnx file, run by the chosen backend."""
    name = resolve_backend(backend)
    if device != "cpu" and name == "onnxruntime":
        name = "torch"  # this package installs the CPU build of ONNX Runtime only
    if is_onnx(path):
        if name == "torch":
            raise ConfigError(f"{path} is an ONNX model: it runs with classifier.backend=onnxruntime "
                              "(pip install onnxruntime); for torch pass the .ckpt or .pt it was exported from")
        if not Path(path).is_file():
            raise CheckpointError(f"checkpoint not found: {path}. Pass ckpt=PATH to a .ckpt, .pt or .onnx "
                                  "file, or leave ckpt out to use the bundled model.")
        return OnnxRuntimeBackend(path, threads)
    loaded = load_model(path)
    if name == "onnxruntime":
        return OnnxRuntimeBackend.from_loaded(loaded, threads)
    return TorchBackend(loaded, device)

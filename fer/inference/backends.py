"""The network behind the classifier, run by ONNX Runtime or by PyTorch behind one interface.

    backend = open_backend("model.onnx")                 # auto: onnxruntime when installed, else torch
    backend = open_backend("best.ckpt", "onnxruntime")   # a checkpoint is exported to ONNX in memory
    probs = backend.probs(batch)                          # (N,1,48,48) float in [0,1] -> (N, C) numpy

ONNX Runtime is the default because it is faster than PyTorch eager on small batches of 48x48 faces on
CPU (docs/benchmarks.md) and starts no OpenMP pool; it needs no PyTorch at all, so
the light install (`pip install ferkit`) runs shipped and exported .onnx models. PyTorch (the
`[train]` extra) is imported only for the torch backend and for .ckpt/.pt files. Both backends
return the same probabilities within fp32 rounding.

`resolve_backend` and `open_backend` are the one place a backend is chosen (live app, Python API,
service and scripts/eval.py alike).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from fer.checkpoints.onnx_interface import EXPORT_HINT, FACE_DIMS, Port, check_class_count, check_interface
from fer.checkpoints.onnx_metadata import INPUT_NAME, OUTPUT_NAME, metadata_from_props
from fer.errors import CheckpointError, ConfigError, require_extra

if TYPE_CHECKING:
    import torch

    from fer.checkpoints.loading import LoadedModel

BACKENDS = ("auto", "onnxruntime", "torch")


def onnxruntime_available() -> bool:
    return importlib.util.find_spec("onnxruntime") is not None


def on_cpu(device: str) -> bool:
    return str(device).split(":")[0] == "cpu"


def resolve_backend(name: str | None, device: str = "cpu") -> str:
    """'auto' (or None) -> onnxruntime where installed, torch otherwise; a GPU device always runs torch
    (this package installs the CPU build of ONNX Runtime only)."""
    name = name or "auto"
    if name not in BACKENDS:
        raise ConfigError(f"classifier.backend={name!r} is not one of {', '.join(BACKENDS)}")
    if not on_cpu(device):
        name = "torch"
    elif name == "auto":
        name = "onnxruntime" if onnxruntime_available() else "torch"
    elif name == "onnxruntime" and not onnxruntime_available():
        raise ConfigError("classifier.backend=onnxruntime needs the onnxruntime package "
                          "(pip install onnxruntime), or use classifier.backend=torch")
    if name == "torch":
        require_extra("torch", "classifier.backend=torch" if on_cpu(device) else f"device={device}")
    return name


def is_onnx(path: str | Path) -> bool:
    return Path(path).suffix.lower() == ".onnx"


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax in float32, shifted by the row maximum so large logits cannot overflow."""
    z = logits.astype(np.float32) - logits.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


class ClassifierBackend(Protocol):
    name: str
    class_names: list[str]
    model: str  # the registry name of the network
    meta: dict[str, Any]
    path: str

    def probs(self, batch: np.ndarray) -> np.ndarray:
        """(N,1,48,48) float32 in [0,1] -> (N, C) float32 probabilities (numpy in, numpy out)."""
        ...

    def __call__(self, batch: torch.Tensor) -> torch.Tensor:
        """Torch logits for a torch batch: the scorer that evaluation's TTA calls."""
        ...


class TorchBackend:
    """A checkpoint's network run by PyTorch (the `[train]` extra); takes numpy or torch batches."""

    name = "torch"

    def __init__(self, loaded: LoadedModel, device: str = "cpu"):
        import torch

        self.class_names, self.model, self.meta, self.path = loaded.class_names, loaded.model, loaded.meta, loaded.path
        self.device = torch.device(device)
        # channels_last lets oneDNN pick its faster NHWC convolution kernels on CPU (docs/benchmarks.md).
        self.memory_format = torch.channels_last if self.device.type == "cpu" else torch.contiguous_format
        self.net = loaded.net.to(self.device).to(memory_format=self.memory_format).eval()

    def logits(self, batch: np.ndarray | torch.Tensor) -> torch.Tensor:
        import torch

        x = torch.from_numpy(np.ascontiguousarray(batch)) if isinstance(batch, np.ndarray) else batch
        with torch.inference_mode():
            return self.net(x.to(self.device).contiguous(memory_format=self.memory_format))

    def probs(self, batch: np.ndarray | torch.Tensor) -> np.ndarray:
        if len(batch) == 0:
            return np.zeros((0, len(self.class_names)), dtype=np.float32)
        return self.logits(batch).float().softmax(1).cpu().numpy()

    def __call__(self, batch: torch.Tensor) -> torch.Tensor:
        return self.logits(batch)


class OnnxRuntimeBackend:
    """An ONNX model run by ONNX Runtime: numpy in, numpy out, no PyTorch.

    threads: ONNX Runtime's intra-op threads (1 suits one or two live faces; more for batch evaluation).
    spin: let idle threads spin between the network's parallel sections; with more than one thread that
    keeps them hot (faster batch scoring, docs/benchmarks.md), but it steals a core from anything else, so
    only a process that owns the cores (evaluation) asks for it.
    """

    name = "onnxruntime"

    def __init__(self, model: str | Path | bytes, threads: int = 1, path: str = "",
                 class_names: list[str] | None = None, meta: dict[str, Any] | None = None, spin: bool = False):
        import onnxruntime as ort

        opts = ort.SessionOptions()
        opts.intra_op_num_threads = max(1, int(threads))
        opts.inter_op_num_threads = 1
        opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        # Unless asked, idle workers do not spin after each run: they would steal a core from decoding,
        # detection and anything else on a 2-core machine.
        opts.add_session_config_entry("session.intra_op.allow_spinning", "1" if spin else "0")
        self.path = path or (str(model) if not isinstance(model, bytes) else "")
        source = model if isinstance(model, bytes) else str(model)
        try:
            self.session = ort.InferenceSession(source, opts, providers=["CPUExecutionProvider"])
        except Exception as e:  # ORT raises its own pybind types (InvalidProtobuf, Fail, NoSuchFile)
            raise CheckpointError(f"{self.path or 'the model'} cannot be opened by ONNX Runtime "
                                  f"(corrupt, truncated or not an ONNX model?): {str(e)[:200]}") from None
        props = self.session.get_modelmeta().custom_metadata_map
        if class_names is None:
            class_names, meta = metadata_from_props(props, self.path)
        self.class_names, self.meta = list(class_names), dict(meta or {})
        self.model = str(self.meta.get("model", "onnx"))
        self.threads = opts.intra_op_num_threads
        check_interface([Port.of(a) for a in self.session.get_inputs()],
                        [Port.of(a) for a in self.session.get_outputs()], self.class_names, props,
                        self.path or "the model")
        self.check_runs()

    def check_runs(self) -> None:
        """Two blank faces through the graph: what its declared shapes leave open (a dynamic batch that is
        really fixed, the class count, a size that only the layers inside fix) shows now, not at the first face."""
        name = self.path or "the model"
        try:
            out = self.logits(np.zeros((2, *FACE_DIMS), dtype=np.float32))
        except Exception as e:  # noqa: BLE001 - ORT raises its own pybind types
            reason = " ".join(str(e).split())[:200]
            raise CheckpointError(f"{name} fails on a batch of two blank faces ({reason}): {EXPORT_HINT}") from None
        if out.ndim == 2 and out.shape[0] == 2:
            check_class_count(out.shape[1], self.class_names, name)
        else:
            raise CheckpointError(f"{name} gives scores of shape {out.shape} for two faces, not (2, "
                                  f"{len(self.class_names)}): {EXPORT_HINT}")

    @classmethod
    def from_loaded(cls, loaded: LoadedModel, threads: int = 1, spin: bool = False) -> OnnxRuntimeBackend:
        """A checkpoint's network exported to ONNX in memory (about a second; needs PyTorch), then run
        by ONNX Runtime."""
        from fer.checkpoints.onnx_export import onnx_bytes

        meta = {"model": loaded.model, **loaded.meta}
        return cls(onnx_bytes(loaded), threads, loaded.path, loaded.class_names, meta, spin=spin)

    def logits(self, batch: np.ndarray) -> np.ndarray:
        """(N,1,48,48) float32 -> (N, C) float32 logits. A torch CPU tensor is read as an array too."""
        x = np.ascontiguousarray(batch, dtype=np.float32)
        return self.session.run([OUTPUT_NAME], {INPUT_NAME: x})[0]

    def probs(self, batch: np.ndarray) -> np.ndarray:
        if len(batch) == 0:
            return np.zeros((0, len(self.class_names)), dtype=np.float32)
        return softmax(self.logits(batch))

    def __call__(self, batch: torch.Tensor) -> torch.Tensor:
        """Torch logits for a torch batch (evaluation's TTA hands torch tensors; torch is loaded then)."""
        if isinstance(batch, np.ndarray):
            return self.logits(batch)
        import torch

        return torch.from_numpy(self.logits(batch.detach().cpu().float().numpy()))


def load_checkpoint(path: str | Path, feature: str) -> LoadedModel:
    """A .ckpt or bundle .pt, read by PyTorch: a MissingExtraError in the light install."""
    require_extra("torch", feature)
    from fer.checkpoints.loading import load_model

    return load_model(path)


def open_backend(path: str | Path, backend: str | None = "auto", threads: int = 1,
                 device: str = "cpu", spin: bool = False) -> ClassifierBackend:
    """A .ckpt, bundle .pt or exported .onnx file, run by the chosen backend (see resolve_backend)."""
    # First: a wrong path is the mistake to name, also where PyTorch (which reads .ckpt and .pt) is missing.
    if Path(path).is_dir():
        raise CheckpointError(f"ckpt={path} is a folder; pass the .ckpt, .pt or .onnx file (a training run "
                              "keeps its .ckpt files in checkpoints/)")
    if not Path(path).is_file():
        raise CheckpointError(f"checkpoint not found: {path}. Pass ckpt=PATH to a .ckpt, .pt or .onnx "
                              "file, or leave ckpt out to use the bundled model.")
    if is_onnx(path):
        if backend == "torch" or not on_cpu(device) or resolve_backend(backend) == "torch":
            raise ConfigError(f"{path} is an ONNX model: it runs with classifier.backend=onnxruntime "
                              "on device=cpu; for torch pass the .ckpt or .pt it was exported from")
        return OnnxRuntimeBackend(path, threads, spin=spin)
    name = resolve_backend(backend, device)
    twin = Path(path).with_suffix(".onnx")  # a shipped bundle's exported twin
    hint = f"ckpt={twin} runs without it" if twin.is_file() else ".onnx models run without it"
    loaded = load_checkpoint(path, f"{Path(path).name} (a PyTorch checkpoint; {hint})")
    if name == "onnxruntime":
        return OnnxRuntimeBackend.from_loaded(loaded, threads, spin=spin)
    return TorchBackend(loaded, device)

"""Load a classifier from a Lightning checkpoint or a bundle `.pt`, weights-only.

Both formats describe the network by plain values: the registry name, its kwargs and the class
names, plus the weights. `torch.load(..., weights_only=True)` never runs code from the file, so a
checkpoint from someone else cannot execute anything when it is opened.

Bundle format (a dict saved with torch.save):
    {"format": "fer-bundle/1", "model": "cnn4", "model_kwargs": {...}, "class_names": [...],
     "state_dict": {...}, "quantized": {name: scale tensor}, "meta": {...}}
"""

from __future__ import annotations

import pickle
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from fer.errors import CheckpointError
from fer.models import create_model, list_models

BUNDLE_FORMAT = "fer-bundle/1"


@dataclass
class LoadedModel:
    net: nn.Module
    class_names: list[str]
    model: str
    model_kwargs: dict[str, Any] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)
    path: str = ""


# How torch's weights-only unpickler words a refusal (as of torch 2.14), most specific first: a global
# that is not allow-listed, one from a blocked module (os, subprocess, ...), a call or object it will
# not build. Any of them means the file holds more than weights; other unpickling errors mean damage.
REFUSALS = (
    re.compile(r"GLOBAL (\S+) (?:was not an allowed global|whose module)"),
    re.compile(r"(?:unsupported|Unsupported) global: GLOBAL (\S+)"),
    re.compile(r"Trying to call reduce for unrecognized function (\S+)"),
    re.compile(r"Can only (?:create new object|build) .*?got (.+?)(?:\n|$)"),
)


def weights_only_refusal(message: str) -> str | None:
    """What torch's weights-only loader refused to build (a qualified name), or None for other errors."""
    for pattern in REFUSALS:
        found = pattern.search(message)
        if found:
            return found.group(1).strip().rstrip(".")
    return None


def read_weights_only(path: str | Path) -> dict[str, Any]:
    """torch.load with weights_only=True, turning every failure into a CheckpointError."""
    path = Path(path)
    if not path.exists():
        raise CheckpointError(f"checkpoint not found: {path}. Pass ckpt=PATH to a .ckpt or .pt file, "
                              "or leave ckpt out to use the bundled model.")
    if path.is_dir():
        raise CheckpointError(f"ckpt={path} is a folder; pass the .ckpt file inside its checkpoints/ folder")
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        refused = weights_only_refusal(str(e))
        if refused is None:  # not a pickle torch understands at all
            raise CheckpointError(f"{path} is not a readable PyTorch checkpoint (corrupt or truncated?)") from None
        # Objects other than tensors and plain values would run code from the file: refused.
        raise CheckpointError(f"{path} holds objects other than weights and plain values ({refused}), "
                              "so it is not loaded: loading them could run code from the file. Load only "
                              "checkpoints from `ferkit train` or bundles from `ferkit export --format bundle`.") from None
    except Exception as e:  # a corrupt file can break the unpickler in any way (IndexError, KeyError, ...)
        raise CheckpointError(f"{path} is not a readable PyTorch checkpoint (corrupt or truncated?): "
                              f"{type(e).__name__}: {str(e)[:200]}") from None
    if not isinstance(obj, dict):
        raise CheckpointError(f"{path} holds a {type(obj).__name__}, not a checkpoint dict")
    return obj


def _spec(obj: dict[str, Any], path: Path) -> tuple[str | None, dict[str, Any], list[str], dict[str, torch.Tensor]]:
    """(model name, kwargs, class names, network state_dict) from either format (no name: None)."""
    if obj.get("format") == BUNDLE_FORMAT:
        state = _dequantize(obj["state_dict"], obj.get("quantized") or {})
        return obj["model"], dict(obj.get("model_kwargs") or {}), list(obj["class_names"]), state
    hp = obj.get("hyper_parameters")
    if not isinstance(hp, dict) or "model" not in hp or "state_dict" not in obj:
        raise CheckpointError(f"{path} is not an FER checkpoint: it has no hyper_parameters.model and "
                              "state_dict. Use a .ckpt written by `ferkit train` or a bundle from "
                              "`ferkit export --format bundle`.")
    state = {k[4:]: v for k, v in obj["state_dict"].items() if k.startswith("net.")}
    names = list(hp.get("class_names") or [])
    return (*model_spec(hp), names, state)


def model_spec(hparams: dict[str, Any]) -> tuple[str | None, dict[str, Any]]:
    """(model name, kwargs) of a training checkpoint's hyperparameters: grouped (`model: {name, kwargs,
    ...}`), or the older flat layout (`model: name, model_kwargs: {...}`)."""
    model = hparams.get("model")
    if isinstance(model, dict):
        return model.get("name"), dict(model.get("kwargs") or {})
    return model, dict(hparams.get("model_kwargs") or {})


def load_model(path: str | Path) -> LoadedModel:
    """Rebuild the network of a .ckpt or bundle, in eval mode, with a clear error for any mismatch."""
    path = Path(path)
    if path.suffix.lower() == ".onnx" and path.is_file():
        raise CheckpointError(f"{path} is an ONNX model: it runs with classifier.backend=onnxruntime; for "
                              "torch pass the .ckpt or .pt it was exported from")
    obj = read_weights_only(path)
    try:
        return _build(obj, path)
    except CheckpointError:
        raise
    except (KeyError, TypeError, AttributeError, ValueError, RuntimeError) as e:
        raise CheckpointError(f"{path} is malformed ({type(e).__name__}: {str(e)[:200]}); re-export it with "
                              "`ferkit export --format bundle` or use a .ckpt from `ferkit train`") from None


def _build(obj: dict[str, Any], path: Path) -> LoadedModel:
    name, kwargs, class_names, state = _spec(obj, path)
    if not isinstance(name, str) or name not in list_models():
        raise CheckpointError(f"{path} was trained with model {name!r}, which this version does not have "
                              f"(available: {', '.join(list_models())}).")
    if not class_names:
        raise CheckpointError(f"{path} does not name its classes (hyper_parameters.class_names)")
    try:
        net = create_model(name, num_classes=len(class_names), **kwargs)
    except (TypeError, ValueError) as e:
        raise CheckpointError(f"{path}: model {name!r} cannot be built with {kwargs}: {e}. Was it trained "
                              "with another code version?") from None
    ref = net.state_dict()
    missing = sorted(set(ref) - set(state))
    unexpected = sorted(set(state) - set(ref))
    wrong = sorted(k for k in set(ref) & set(state) if ref[k].shape != state[k].shape)
    if missing or unexpected or wrong:
        detail = "; ".join(f"{label}: {', '.join(keys[:3])}{' ...' if len(keys) > 3 else ''}"
                           for label, keys in (("missing", missing), ("unexpected", unexpected),
                                               ("wrong shape", wrong)) if keys)
        raise CheckpointError(f"{path}: its weights do not fit model {name!r} with {len(class_names)} "
                              f"classes ({detail}). Was it trained with another architecture or code version?")
    net.load_state_dict({k: v.to(ref[k].dtype) for k, v in state.items()})
    net.eval()
    return LoadedModel(net, class_names, name, kwargs, _meta(obj), str(path))


def _meta(obj: dict[str, Any]) -> dict[str, Any]:
    """A bundle's metadata; of a training checkpoint, the data it was trained on where it records that."""
    if obj.get("format") == BUNDLE_FORMAT:
        return dict(obj.get("meta") or {})
    data = (obj.get("hyper_parameters") or {}).get("data")
    return {"data": str(data)} if data else {}


def _dequantize(state: dict[str, torch.Tensor], scales: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    out = {}
    for k, v in state.items():
        if k in scales:
            s = scales[k].float().reshape(-1, *([1] * (v.ndim - 1)))
            out[k] = v.float() * s
        else:
            out[k] = v.float() if v.is_floating_point() else v
    return out

"""Export a training checkpoint as a small weights-only bundle (fp32, fp16 or int8 weights)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from fer.checkpoints.loading import BUNDLE_FORMAT, load_model
from fer.errors import ConfigError, OutputError
from fer.outputs import PendingFile, check_outputs, output_error

PRECISIONS = ("fp32", "fp16", "int8")
# Checkpoints written before training recorded its data, found outside their run's folder.
UNRECORDED = "not recorded (the checkpoint predates the record, and no report.json of its run is beside it)"


def _quantize(t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    # Symmetric int8 per output channel: weights only; biases and BN stay fp16.
    flat = t.float().reshape(t.shape[0], -1)
    scale = flat.abs().amax(1).clamp_min(1e-12) / 127.0
    q = (flat / scale[:, None]).round().clamp(-127, 127).to(torch.int8).reshape(t.shape)
    return q, scale.to(torch.float32)


def _find_report(ckpt: Path) -> dict[str, Any]:
    # A run's report.json sits two levels above its checkpoints/<file>.ckpt.
    for candidate in (ckpt.parent.parent / "report.json", ckpt.parent / "report.json"):
        if candidate.is_file():
            return json.loads(candidate.read_text())
    return {}


# What the scores of a model's metadata were called before: `test_accuracy` held the accuracy on whichever
# split its report scored (for the shipped models PublicTest, FER-2013's val split), hence the new names.
OLD_SCORE_NAMES = {"accuracy": "test_accuracy", "macro_f1": "test_macro_f1", "scored_split": "test_split"}


def recorded_score(meta: dict[str, Any], key: str = "accuracy") -> Any:
    """A score a bundle's, an ONNX model's or a sidecar's metadata records, under its name or its old one."""
    return meta[key] if key in meta else meta.get(OLD_SCORE_NAMES[key])


def export_bundle(ckpt_path: str | Path, out_path: str | Path, meta: dict[str, Any] | None = None,
                  precision: str = "fp16") -> dict[str, Any]:
    """Write the network of a training checkpoint as a small weights-only bundle (+ a .json of its meta).

    precision: fp16 halves the size; int8 (per-channel weight quantization) quarters it.
    The run's report.json, when found next to the checkpoint, fills in accuracy and command.
    """
    if precision not in PRECISIONS:
        raise ConfigError(f"precision={precision!r} is not one of {', '.join(PRECISIONS)}")
    ckpt_path, out_path = Path(ckpt_path), Path(out_path)
    check_outputs([("out", out_path), ("out", out_path.with_suffix(".json"))], [("checkpoint", ckpt_path)])
    loaded = load_model(ckpt_path)  # validates the checkpoint fully before anything is written
    report = _find_report(ckpt_path)
    data = loaded.meta.get("data") or (f"read from {report['data']}" if report.get("data") else UNRECORDED)
    if Path(str(report.get("checkpoint", ""))).name != ckpt_path.name:
        report = {}  # the run's report scored another checkpoint (e.g. best vs last): its numbers don't apply
    info: dict[str, Any] = {
        "source_checkpoint": ckpt_path.name,
        "precision": precision,
        "accuracy": report.get("accuracy"),
        "macro_f1": report.get("macro_f1"),
        "scored_split": report.get("split"),
        "train_command": report.get("command"),
        "data": data,
    }
    info.update(meta or {})
    state, scales = {}, {}
    for k, v in loaded.net.state_dict().items():
        if precision == "int8" and v.is_floating_point() and v.ndim >= 2:
            state[k], scales[k] = _quantize(v)
        elif precision != "fp32" and v.is_floating_point():
            state[k] = v.half()
        else:
            state[k] = v.clone()
    bundle = {"format": BUNDLE_FORMAT, "model": loaded.model, "model_kwargs": loaded.model_kwargs,
              "class_names": loaded.class_names, "state_dict": state, "quantized": scales, "meta": info}
    # Both files are complete on disk before either replaces an earlier one (a full disk changes neither).
    weights, sidecar = PendingFile(out_path), PendingFile(out_path.with_suffix(".json"))
    try:
        with weights.open("wb") as f:
            torch.save(bundle, f)
        size = weights.path.stat().st_size
        with sidecar.open("w") as f:
            f.write(json.dumps({"model": loaded.model, "model_kwargs": loaded.model_kwargs,
                                "class_names": loaded.class_names, "size_bytes": size, **info},
                               indent=1, default=str) + "\n")
        weights.seal()
        sidecar.seal()
    except OSError as e:
        weights.discard()
        sidecar.discard()
        raise e if isinstance(e, OutputError) else output_error(e, out_path) from None
    except BaseException:
        weights.discard()
        sidecar.discard()
        raise
    weights.commit()
    sidecar.commit()
    return info

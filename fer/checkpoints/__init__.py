"""Checkpoints and bundles: weights-only loading and export (bundle .pt, ONNX), shared by training,
evaluation and inference.

Names are imported on first use: the bundled-model lookup (bundled.py) and the ONNX metadata
(onnx_metadata.py) need no PyTorch, so the light install can use them; loading a .ckpt/.pt and
exporting (loading.py, bundle_export.py, onnx_export.py) import PyTorch. bundled.py finds the models
that ship in fer/weights; bundle_export.py makes a bundle of your own checkpoint.
"""

from __future__ import annotations

import importlib

_HOMES = {
    "PRECISIONS": "bundle_export", "export_bundle": "bundle_export",
    "BUNDLED_INT8": "bundled", "BUNDLED_MODEL": "bundled", "BUNDLED_ONNX": "bundled", "bundled_model_path": "bundled",
    "LoadedModel": "loading", "load_model": "loading", "read_weights_only": "loading",
    "ONNX_PRECISIONS": "onnx_export", "check_calibration_count": "onnx_export", "export_onnx": "onnx_export",
    "onnx_bytes": "onnx_export",
    "read_onnx_metadata": "onnx_metadata",
}
__all__ = [*sorted(_HOMES), "check_output"]


def __getattr__(name: str):
    if name in _HOMES:
        return getattr(importlib.import_module(f"fer.checkpoints.{_HOMES[name]}"), name)
    if name == "check_output":  # where an export may write: fer.outputs, re-exported for scripts/export.py
        from fer.outputs import check_output

        return check_output
    raise AttributeError(f"module 'fer.checkpoints' has no attribute {name!r}")

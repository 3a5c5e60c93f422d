"""Checkpoints and bundles: weights-only loading and export (bundle .pt, ONNX), shared by training,
evaluation and inference."""

from fer.checkpoints.bundle import PRECISIONS, export_bundle
from fer.checkpoints.bundled import BUNDLED_INT8, BUNDLED_MODEL, BUNDLED_ONNX, bundled_model_path
from fer.checkpoints.loading import LoadedModel, load_model, read_weights_only
from fer.checkpoints.onnx_export import ONNX_PRECISIONS, export_onnx, onnx_bytes, read_onnx_metadata
from fer.checkpoints.output_file import check_output

__all__ = ["BUNDLED_INT8", "BUNDLED_MODEL", "BUNDLED_ONNX", "ONNX_PRECISIONS", "PRECISIONS", "LoadedModel",
           "bundled_model_path", "check_output", "export_bundle", "export_onnx", "load_model", "onnx_bytes",
           "read_onnx_metadata", "read_weights_only"]

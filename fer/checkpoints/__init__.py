"""Checkpoints and bundles: weights-only loading and export, shared by training, evaluation and inference."""

from fer.checkpoints.bundle import PRECISIONS, export_bundle
from fer.checkpoints.bundled import BUNDLED_MODEL, bundled_model_path
from fer.checkpoints.loading import LoadedModel, load_model, read_weights_only

__all__ = ["BUNDLED_MODEL", "PRECISIONS", "LoadedModel", "bundled_model_path", "export_bundle", "load_model", "read_weights_only"]

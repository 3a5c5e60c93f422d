"""Checkpoints and bundles: weights-only loading and export, shared by training, evaluation and inference."""

from fer.checkpoints.bundle import PRECISIONS, export_bundle
from fer.checkpoints.loading import LoadedModel, load_model, read_weights_only

__all__ = ["PRECISIONS", "LoadedModel", "export_bundle", "load_model", "read_weights_only"]

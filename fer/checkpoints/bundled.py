"""The model that ships inside the package, used whenever no checkpoint is given."""

from __future__ import annotations

from pathlib import Path

from fer.errors import CheckpointError

WEIGHTS_DIR = Path(__file__).resolve().parents[1] / "weights"
BUNDLED_MODEL = WEIGHTS_DIR / "fer2013.pt"


def bundled_model_path() -> Path:
    if not BUNDLED_MODEL.is_file():
        raise CheckpointError(f"no bundled model at {BUNDLED_MODEL}; pass ckpt=PATH to a checkpoint from "
                              "scripts/train.py (outputs/<task>/runs/<time>/checkpoints/*.ckpt)")
    return BUNDLED_MODEL

"""callbacks=ema: validation, checkpoints and the final weights use the moving average of the weights."""

from __future__ import annotations

import torch

from fer.checkpoints.loading import load_model
from fer.data.load import load_fer2013
from fer.evaluation.scoring import evaluate_split
from fer.training.fit import train
from tests.test_distill import TINY
from tests.test_training import FAST, make_cfg


def test_ema_checkpoint_holds_the_average_that_validation_scored(folder_dataset, tmp_path):
    cfg = make_cfg(folder_dataset, tmp_path, *TINY, "callbacks=ema", "callbacks.ema.decay=0.9",
                   "trainer.max_epochs=2", "data.augment.mode=none", *FAST)
    assert cfg.callbacks.model_checkpoint is not None  # the default callbacks stay
    train(cfg)
    best = next((tmp_path / "checkpoints").glob("best-*.ckpt"))
    raw = torch.load(best, map_location="cpu", weights_only=True)
    averaged, current = raw["state_dict"], raw["current_model_state"]
    assert any(not torch.equal(averaged[k], current[k]) for k in averaged if averaged[k].is_floating_point())

    # The checkpoint's val/acc is the averaged network's accuracy, reproduced by the weights-only loader.
    model = load_model(best)
    splits = load_fer2013(folder_dataset, tmp_path / "cache")
    probs, labels = evaluate_split([model], splits.val)
    score = float(best.stem.rsplit("acc", 1)[1])
    assert abs((probs.argmax(1) == labels).float().mean().item() - score) < 1e-3

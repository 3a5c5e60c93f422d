"""Transfer learning (experiment=finetune): a seven-class FER-2013 model fine-tuned to a three-class folder
tree. The classifier is new, every other layer starts as the source's, stays frozen during the freeze
epochs and trains after them, at the backbone's lower learning rate."""

from __future__ import annotations

import logging

import pytest
import torch

from fer.errors import ConfigError
from fer.models import get_classifier
from fer.training.finetune import FreezeBackbone, split_parameters, transfer_weights
from fer.training.fit import train
from fer.training.module import FERModule
from tests.test_other_datasets_training import FOLDER_CLASSES, make_three_classes
from tests.test_training import FAST, make_cfg

SMALL = ["model.kwargs.width=8", "logger=csv"]
SOURCE_KWARGS = ["model.kwargs.dropout=0.3", "model.kwargs.stage_dropout=0.0"]  # the source's (conf/model/fastcnn)


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    """A seven-class fastcnn trained one epoch on synthetic FER-2013."""
    from tests.conftest import make_folder_dataset

    root = make_folder_dataset(tmp_path_factory.mktemp("fer2013"))
    out = tmp_path_factory.mktemp("source")
    train(make_cfg(root, out, "model=fastcnn", "trainer.max_epochs=1", *SMALL, *FAST))
    return out / "checkpoints" / "last.ckpt"


def finetuned(source, tmp_path, epochs: int, *extra: str) -> dict[str, torch.Tensor]:
    root = make_three_classes(tmp_path / "faces")
    out = tmp_path / f"run{epochs}"
    train(make_cfg(root, out, "experiment=finetune", f"init_from={source}", "data=folder", "data.val_fraction=0.25",
                   f"trainer.max_epochs={epochs}", "finetune.freeze_epochs=1", *SOURCE_KWARGS, *SMALL, *extra,
                   *FAST))
    return torch.load(out / "checkpoints" / "last.ckpt", weights_only=True)["state_dict"]


def backbone_state(state: dict[str, torch.Tensor], head: str) -> dict[str, torch.Tensor]:
    return {k: v for k, v in state.items() if k.startswith("net.") and not k.startswith(f"net.{head}.")}


def test_the_head_is_new_and_the_backbone_frozen_during_the_freeze_epochs(source, tmp_path, caplog):
    before = torch.load(source, weights_only=True)["state_dict"]
    head = get_classifier(FERModule(model="fastcnn", model_kwargs={"width": 8}).net)[0]
    with caplog.at_level(logging.INFO):
        after = finetuned(source, tmp_path, 1)
    assert after[f"net.{head}.weight"].shape[0] == 3 and before[f"net.{head}.weight"].shape[0] == 7
    kept = backbone_state(after, head)
    assert kept and all(torch.equal(v, before[k]) for k, v in kept.items())  # weights and BN statistics
    assert f"kept {len(kept)} tensors, replaced 2: {head}.weight, {head}.bias" in caplog.text
    assert "backbone frozen for the first 1 epoch(s)" in caplog.text


def test_the_backbone_trains_after_the_freeze_epochs(source, tmp_path, caplog):
    before = torch.load(source, weights_only=True)["state_dict"]
    head = get_classifier(FERModule(model="fastcnn", model_kwargs={"width": 8}).net)[0]
    with caplog.at_level(logging.INFO):
        after = finetuned(source, tmp_path, 2)
    convs = [k for k in backbone_state(after, head) if k.endswith(".weight") and after[k].ndim == 4]
    assert convs and all(not torch.equal(after[k], before[k]) for k in convs)
    assert "backbone trainable from epoch 1" in caplog.text


def test_transfer_keeps_tensors_of_the_same_name_and_shape():
    seven = FERModule(model="fastcnn", model_kwargs={"width": 8}).net
    three = FERModule(model="fastcnn", model_kwargs={"width": 8}, class_names=FOLDER_CLASSES).net
    kept, replaced = transfer_weights(seven, three)
    head = get_classifier(three)[0]
    assert replaced == [f"{head}.weight", f"{head}.bias"]
    assert all(torch.equal(three.state_dict()[k], seven.state_dict()[k]) for k in kept)


def test_backbone_learning_rate_is_scaled_in_its_own_parameter_group():
    module = FERModule(model="fastcnn", model_kwargs={"width": 8}, optimizer="sgd", lr=0.1, scheduler="none",
                       backbone_lr_scale=0.1, decay_norm_and_bias=True)
    opt = module.configure_optimizers()
    backbone, head = split_parameters(module.net)
    assert [g["lr"] for g in opt.param_groups] == [pytest.approx(0.01), 0.1]
    assert [len(g["params"]) for g in opt.param_groups] == [len(backbone), len(head)] and len(head) == 2


def test_freeze_callback_freezes_then_releases_the_backbone():
    module = FERModule(model="fastcnn", model_kwargs={"width": 8})
    callback = FreezeBackbone(2)
    callback.freeze_before_training(module)
    backbone, head = split_parameters(module.net)
    assert not any(p.requires_grad for p in backbone) and all(p.requires_grad for p in head)
    callback.finetune_function(module, 1, None)
    assert not any(p.requires_grad for p in backbone)
    callback.finetune_function(module, 2, None)
    assert all(p.requires_grad for p in backbone)


@pytest.mark.parametrize("setting, message", [("finetune.freeze_epochs=-1", "whole number"),
                                              ("finetune.backbone_lr_scale=0", r"\(0, 1\]"),
                                              ("+finetune.unfreeze=3", "no setting unfreeze"),
                                              ("init_from=null", "init_from=")])
def test_finetune_mistakes_are_config_errors(tmp_path, setting, message):
    root = make_three_classes(tmp_path / "faces", n_train=2, n_test=1)
    cfg = make_cfg(root, tmp_path, "experiment=finetune", "data=folder", setting, "debug=fast_dev_run", *SMALL,
                   *FAST)
    with pytest.raises(ConfigError, match=message):
        train(cfg)

"""optim.decay_norm_and_bias: weight decay on every parameter, or on weight matrices and kernels only (biases
and normalisation weights exempt); the optimizer's groups combine that with fine-tuning's backbone
learning rate."""

from __future__ import annotations

import pytest
import torch
from omegaconf import OmegaConf

from fer.training.build import module_settings
from fer.training.finetune import split_parameters
from fer.training.module import FERModule
from tests.conftest import CONF_DIR
from tests.test_training import make_cfg

DECAY = 5e-4


def sgd_module(**hparams) -> FERModule:
    return FERModule(model="fastcnn", model_kwargs={"width": 8}, optimizer="sgd", lr=0.1, weight_decay=DECAY,
                     scheduler="none", **hparams)


def names(module: FERModule, params) -> set[str]:
    ids = {id(p) for p in params}
    return {n for n, p in module.named_parameters() if id(p) in ids}


def groups(module: FERModule) -> list[tuple[set[str], float, float]]:
    """(parameter names, learning rate, weight decay) of each optimizer group."""
    opt = module.configure_optimizers()
    return [(names(module, g["params"]), g["lr"], g["weight_decay"]) for g in opt.param_groups]


def test_biases_and_norm_weights_get_no_decay():
    module = sgd_module(decay_norm_and_bias=False)
    weights = {n for n, p in module.named_parameters() if p.ndim >= 2}
    rest = {n for n, p in module.named_parameters() if p.ndim < 2}
    assert groups(module) == [(weights, 0.1, DECAY), (rest, 0.1, 0.0)]
    # fastcnn: conv kernels and linear weights decay; every bias and batch-norm weight does not.
    norms = {f"net.{n}.weight" for n, m in module.net.named_modules() if isinstance(m, torch.nn.BatchNorm2d)}
    assert norms and norms <= rest and all(n.endswith(".bias") for n in rest - norms)
    assert any(n.endswith(".bias") for n in rest)


def test_decay_on_everything_is_one_group():
    module = sgd_module(decay_norm_and_bias=True)
    assert groups(module) == [({n for n, _ in module.named_parameters()}, 0.1, DECAY)]


def test_the_finetuning_split_is_split_again_by_decay():
    module = sgd_module(decay_norm_and_bias=False, backbone_lr_scale=0.1)
    backbone, head = (names(module, part) for part in split_parameters(module.net))
    matrix = {n for n, p in module.named_parameters() if p.ndim >= 2}
    (b_decay, b_lr, b_wd), (b_rest, _, b_rest_wd), (h_decay, h_lr, h_wd), (h_rest, h_rest_lr, h_rest_wd) = \
        groups(module)
    assert b_decay == backbone & matrix and b_rest == backbone - matrix
    assert h_decay == head & matrix and h_rest == head - matrix and len(h_decay) == len(h_rest) == 1
    assert b_lr == pytest.approx(0.01) and h_lr == h_rest_lr == 0.1
    assert (b_wd, b_rest_wd, h_wd, h_rest_wd) == (DECAY, 0.0, DECAY, 0.0)


def test_one_cycle_starts_every_group_from_its_own_learning_rate():
    module = FERModule(model="fastcnn", model_kwargs={"width": 8}, optimizer="sgd", lr=0.1, weight_decay=DECAY,
                       scheduler="onecycle", backbone_lr_scale=0.1, decay_norm_and_bias=False)
    module.trainer = type("Trainer", (), {"estimated_stepping_batches": 10})()
    sched = module.configure_optimizers()["lr_scheduler"]["scheduler"]
    assert [g["max_lr"] for g in sched.optimizer.param_groups] == [pytest.approx(0.01)] * 2 + [0.1] * 2


def test_an_sgd_step_without_gradients_shrinks_only_the_decayed_tensors():
    torch.manual_seed(0)
    module = sgd_module(decay_norm_and_bias=False)
    opt = module.configure_optimizers()
    for p in module.parameters():
        p.data.add_(1.0)  # batch-norm biases start at zero, where decay could not show
        p.grad = torch.zeros_like(p)
    before = {n: p.detach().clone() for n, p in module.named_parameters()}
    opt.step()
    for n, p in module.named_parameters():
        assert torch.equal(p, before[n]) == (p.ndim < 2), n


def test_the_shipped_setting_reaches_the_module_and_old_checkpoints_load(tmp_path):
    cfg = make_cfg(tmp_path, tmp_path, "experiment=fast_cpu")
    shipped = OmegaConf.load(CONF_DIR / "optim" / "adam_plateau.yaml").decay_norm_and_bias
    assert module_settings(cfg)["optim"]["decay_norm_and_bias"] == shipped
    flipped = make_cfg(tmp_path, tmp_path, "experiment=fast_cpu", f"optim.decay_norm_and_bias={not shipped}")
    assert module_settings(flipped)["optim"]["decay_norm_and_bias"] == (not shipped)

    # A checkpoint saved before the setting existed (in the flat layout of then) trains on with the default.
    module = sgd_module()
    hparams = {"model": "fastcnn", "model_kwargs": {"width": 8}, "optimizer": "sgd", "lr": 0.1,
               "weight_decay": DECAY, "scheduler": "none", "class_names": module.hparams.class_names,
               "class_weights": None, "data": None}
    path = tmp_path / "old.ckpt"
    torch.save({"pytorch-lightning_version": "2.5.0", "state_dict": module.state_dict(),
                "hyper_parameters": hparams}, path)
    old = FERModule.load_from_checkpoint(path, map_location="cpu", weights_only=True)
    assert old.hparams.optim["decay_norm_and_bias"] == shipped
    assert len(old.configure_optimizers().param_groups) == (1 if shipped else 2)

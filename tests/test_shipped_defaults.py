"""Every default of the training side lives once, in conf/: what Python builds without being told and what
`ferkit train` composes from the shipped configs are the same datamodule, augmentation, module and networks;
the settings' old names still land where the new ones do."""

from __future__ import annotations

import inspect
from dataclasses import asdict

import pytest
from omegaconf import OmegaConf

from fer.data.augment import AugmentConfig
from fer.data.datamodule import FERDataModule
from fer.data.shipped_conf import data_settings, shipped_group
from fer.models.registry import _MODELS
from fer.training.build import build_datamodule, module_settings
from fer.training.module import FERModule
from fer.training.settings import with_new_names
from tests.conftest import CONF_DIR
from tests.test_training import make_cfg

DATA_KEYS = ("batch_size", "eval_batch_size", "num_workers", "seed", "val_fraction", "label_mode")


def datamodule_settings(dm: FERDataModule) -> dict:
    return {"dataset": dm.dataset, **{k: getattr(dm, k) for k in DATA_KEYS}, "augment": asdict(dm.augment_cfg)}


@pytest.mark.parametrize("path", sorted((CONF_DIR / "model").glob("*.yaml")), ids=lambda p: p.stem)
def test_each_model_config_states_its_networks_own_defaults(path):
    conf = OmegaConf.to_container(OmegaConf.load(path))
    params = inspect.signature(_MODELS[conf["name"]]).parameters
    assert {k: params[k].default for k in conf["kwargs"]} == conf["kwargs"]


@pytest.mark.parametrize("name", ["fer2013", "folder", "ferplus", "rafdb", "affectnet"])
def test_a_datamodule_built_in_python_is_the_one_the_command_line_builds(name, tmp_path):
    cfg = make_cfg(tmp_path, tmp_path, f"data={name}", f"data.root={tmp_path}", "data.cache_dir=null")
    assert cfg.data.seed == cfg.seed and "val_fraction" in cfg.data
    from_cli = build_datamodule(cfg)
    in_python = FERDataModule(root=str(tmp_path), name=None if name == "fer2013" else name)
    assert datamodule_settings(in_python) == datamodule_settings(from_cli)
    assert asdict(AugmentConfig()) == asdict(from_cli.augment_cfg) == data_settings()["augment"]


def test_affectnet_holds_out_its_own_share_and_the_others_the_common_one():
    assert data_settings("affectnet")["val_fraction"] == 0.05
    assert data_settings("rafdb")["val_fraction"] == data_settings("folder")["val_fraction"] == \
        data_settings()["val_fraction"]


def test_a_module_built_in_python_is_the_one_the_command_line_builds(tmp_path):
    cfg = make_cfg(tmp_path, tmp_path, f"data.root={tmp_path}")
    in_python = FERModule().hparams
    for group in ("model", "optim", "loss"):
        shipped = {k: v for k, v in shipped_group(group).items() if v is not None}
        assert {k: in_python[group][k] for k in shipped} == shipped
        assert {k: in_python[group][k] for k in shipped} == {k: module_settings(cfg)[group][k] for k in shipped}
    assert in_python["augmentation"] == asdict(AugmentConfig())


def test_the_older_flat_arguments_build_the_same_module():
    flat = FERModule(model="fastcnn", model_kwargs={"width": 8}, lr=0.05, mixup=0.2, backbone_lr_scale=0.5)
    grouped = FERModule(model={"name": "fastcnn", "kwargs": {"width": 8}}, optim={"lr": 0.05},
                        augmentation={"mixup": 0.2}, finetune={"backbone_lr_scale": 0.5})
    assert dict(flat.hparams) == dict(grouped.hparams)
    assert flat.hparams.optim["lr"] == 0.05 and flat.mix is not None


def test_old_setting_names_land_on_the_new_ones(tmp_path, caplog):
    cfg = make_cfg(tmp_path, tmp_path, f"data.root={tmp_path}", "experiment=budget", "loss.mixup=0.3",
                   "budget.ladder=[{width:8}]")
    moved = with_new_names(cfg)
    assert moved.data.augment.mixup == 0.3 and "mixup" not in moved.loss
    assert OmegaConf.to_container(moved.budget.sizes) == [{"width": 8}] and "ladder" not in moved.budget
    assert cfg.loss.mixup == 0.3 and cfg.budget.ladder is not None  # the caller's config is left as given
    assert "old name of data.augment.mixup" in caplog.text and "old name of budget.sizes" in caplog.text
    assert FERModule(**module_settings(moved)).hparams.augmentation["mixup"] == 0.3

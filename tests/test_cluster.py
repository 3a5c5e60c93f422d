"""Cluster configs: the submitit launchers compose and a local two-job multirun runs through submitit."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from tests.conftest import CONF_DIR, ROOT
from tests.test_training import FAST


def composed(*overrides: str):
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        return compose("train", overrides=list(overrides), return_hydra_config=True)


def test_slurm_launcher_asks_for_what_the_trainer_needs():
    pytest.importorskip("hydra_plugins.hydra_submitit_launcher", reason='needs pip install -e ".[cluster]"')
    cfg = composed("hydra/launcher=slurm", "experiment=vgg13_150epochs", "trainer=ddp", "trainer.devices=4",
                   "trainer.num_nodes=2", "hydra.launcher.partition=gpu", "hydra.launcher.array_parallelism=3")
    launcher = OmegaConf.to_container(cfg.hydra.launcher, resolve=False)
    assert launcher["_target_"].endswith("SlurmLauncher") and launcher["partition"] == "gpu"
    assert launcher["array_parallelism"] == 3
    resolved = {k: OmegaConf.select(cfg, f"hydra.launcher.{k}") for k in ("nodes", "tasks_per_node", "gpus_per_node")}
    assert resolved == {"nodes": 2, "tasks_per_node": 4, "gpus_per_node": 4}


@pytest.mark.parametrize("trainer", [["trainer=gpu"], ["trainer=ddp", "trainer.devices=8", "trainer.num_nodes=2"]])
def test_the_gpu_recipe_composes_for_one_and_many_gpus(trainer):
    cfg = composed("experiment=vgg13_150epochs", *trainer)
    assert cfg.model.name == "vgg13" and cfg.trainer.max_epochs == 150
    assert cfg.trainer.accelerator == "gpu" and cfg.trainer.precision == "auto"  # bf16 where the GPU has it
    if "trainer=ddp" in trainer:
        assert cfg.trainer.strategy == "ddp" and cfg.trainer.devices == 8 and cfg.trainer.num_nodes == 2
        assert cfg.trainer.use_distributed_sampler is False and cfg.trainer.sync_batchnorm is True


def test_local_submitit_multirun_runs_two_jobs(folder_dataset, tmp_path):
    pytest.importorskip("hydra_plugins.hydra_submitit_launcher", reason='needs pip install -e ".[cluster]"')
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    res = subprocess.run(
        [sys.executable, "scripts/train.py", "-m", "hydra/launcher=local", "debug=fast_dev_run", "optim.lr=1e-3,3e-4",
         f"data.root={folder_dataset}", f"data.cache_dir={tmp_path / 'cache'}", f"paths.log_dir={tmp_path}", *FAST],
        capture_output=True, text=True, cwd=ROOT, env=env, timeout=600,
    )
    assert res.returncode == 0, res.stderr[-3000:]
    sweep = next((tmp_path / "debug" / "multiruns").iterdir())
    assert sorted(p.parent.name for p in sweep.glob("*/report.json")) == ["0", "1"]
    # submitit ran them: each job left its own submission folder with a result.
    assert len(list((sweep / ".submitit").glob("*/*_result.pkl"))) == 2

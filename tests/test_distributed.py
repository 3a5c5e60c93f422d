"""DDP on two CPU processes (gloo) through scripts/train.py, checked against a single-process evaluation."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from fer.data.sharding import batch_sampler
from fer.training.fit import train
from tests.conftest import ROOT
from tests.test_training import FAST, make_cfg


def test_shards_cover_every_face_once_for_evaluation_and_evenly_for_training():
    for n, world in ((14, 2), (13, 3), (5, 2)):
        shards = [[i for b in batch_sampler(n, 4, train=False, rank=r, world_size=world) for i in b]
                  for r in range(world)]
        assert sorted(i for s in shards for i in s) == list(range(n))
        train_batches = [list(batch_sampler(n, 2, train=True, rank=r, world_size=world, seed=1))
                         for r in range(world)]
        assert len({len(b) for b in train_batches}) == 1  # the same number of steps on every rank


def run_script(script: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, f"scripts/{script}", *args], capture_output=True, text=True, cwd=ROOT,
                          env=env, timeout=600)


@pytest.fixture(scope="module")
def ddp_run(tmp_path_factory):
    """Two epochs on two gloo processes, with TensorBoard and CSV logs."""
    from tests.conftest import make_folder_dataset

    tmp = tmp_path_factory.mktemp("ddp")
    root = make_folder_dataset(tmp / "fer2013")
    out = tmp / "run"
    res = run_script("train.py", "trainer=ddp_cpu", "trainer.devices=2", "trainer.max_epochs=2", "logger=many",
                     f"data.root={root}", f"data.cache_dir={tmp / 'cache'}", f"hydra.run.dir={out}", *FAST)
    assert res.returncode == 0, res.stderr[-4000:]
    return out, root, tmp


def test_ddp_writes_one_report_and_its_numbers_match_a_single_process_eval(ddp_run):
    out, root, tmp = ddp_run
    report = json.loads((out / "report.json").read_text())
    assert report["support"] == 14 and len(json.loads((out / "history.json").read_text())) == 2
    assert len(list(out.rglob("report.json"))) == 1
    writers = {p.name.split(".")[-2] for p in (out / "tensorboard").glob("events.out.tfevents.*")}
    assert len(writers) == 1  # one process id: rank 0 alone writes TensorBoard
    assert len(list((out / "checkpoints").glob("best-*.ckpt"))) == 1
    best = report["checkpoint"]
    for split, expected in (("test", report["accuracy"]), ("val", report["best_val_acc"])):
        res = run_script("eval.py", f"ckpt={best}", f"data.root={root}", f"split={split}",
                         f"data.cache_dir={tmp / 'cache'}", f"hydra.run.dir={tmp / split}")
        assert res.returncode == 0, res.stderr[-2000:]
        scored = json.loads((tmp / split / "report.json").read_text())
        assert scored["support"] == 14
        # val: the accuracy DDP logged, synced over both ranks' halves, is the accuracy of all 14 faces.
        assert scored["accuracy"] == pytest.approx(expected, abs=5e-5), split  # reports round to 4 places


def test_a_ddp_checkpoint_resumes_in_one_process(ddp_run, tmp_path):
    out, root, _ = ddp_run
    first = torch.load(out / "checkpoints" / "last.ckpt", weights_only=True)
    cfg = make_cfg(root, tmp_path, "trainer.max_epochs=3", f"ckpt_path={out / 'checkpoints' / 'last.ckpt'}",
                   "logger=csv", *FAST)
    train(cfg)
    run = Path(cfg.paths.output_dir)  # a resumed run continues in its original folder
    assert [r["epoch"] for r in json.loads((run / "history.json").read_text())] == [0, 1, 2]
    resumed = torch.load(run / "checkpoints" / "last.ckpt", weights_only=True)
    # 42 faces: 21 per rank, 2 batches of 8 each under DDP; 5 batches an epoch in one process.
    assert first["global_step"] == 4 and resumed["global_step"] == 4 + 5


def test_a_time_budget_refuses_ddp(folder_dataset, tmp_path):
    from fer.errors import ConfigError
    from fer.training.budget import plan_budget

    cfg = make_cfg(folder_dataset, tmp_path, "experiment=budget", "budget.minutes=1", "trainer=ddp_cpu", *FAST)
    with pytest.raises(ConfigError, match="single process"):
        plan_budget(cfg)

"""Training end to end through Hydra on synthetic data: fast_dev_run, reports, resume, NaN, multirun."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from hydra import compose, initialize_config_dir
from omegaconf import open_dict

from fer.training.fit import train
from fer.training.module import FERModule
from tests.conftest import CONF_DIR, ROOT

FAST = ["data.batch_size=8", "data.eval_batch_size=16", "callbacks.progress_bar=null", "trainer.accelerator=cpu",
        "trainer.log_every_n_steps=1", "trainer.enable_model_summary=false"]


def make_cfg(root: Path, out: Path, *overrides: str, config: str = "train"):
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose(config, overrides=[f"data.root={root}", f"data.cache_dir={out / 'cache'}", *overrides])
    with open_dict(cfg):
        cfg.paths.output_dir = str(out)
    return cfg


def test_fast_dev_run_through_compose(folder_dataset, tmp_path):
    cfg = make_cfg(folder_dataset, tmp_path, "debug=fast_dev_run", *FAST)
    metrics = train(cfg)
    assert "test/acc" in metrics and 0.0 <= metrics["test/acc"] <= 1.0
    assert (tmp_path / "report.json").is_file()


# Files starting with "_" are parts the recipes include, not recipes.
@pytest.mark.parametrize("experiment", sorted(p.stem for p in (CONF_DIR / "experiment").glob("[!_]*.yaml")))
def test_every_experiment_runs_one_batch(folder_dataset, tmp_path, experiment):
    cfg = make_cfg(folder_dataset, tmp_path, f"experiment={experiment}", "debug=fast_dev_run", *FAST)
    assert 0.0 <= train(cfg)["test/acc"] <= 1.0


def test_reference_experiment_composes_the_reference_recipe(folder_dataset, tmp_path):
    cfg = make_cfg(folder_dataset, tmp_path, "experiment=reference")
    assert cfg.model.name == "cnn4" and cfg.optim.optimizer == "adam" and cfg.optim.lr == 1e-3
    assert cfg.data.batch_size == 64 and cfg.trainer.max_epochs == 50
    assert cfg.loss.class_weighting == "balanced" and cfg.optim.scheduler == "plateau"
    assert cfg.callbacks.early_stopping.patience == 10 and cfg.callbacks.model_checkpoint.monitor == "val/acc"
    a = cfg.data.augment
    assert (a.degrees, a.translate, a.scale, a.hflip) == (20, 0.2, 0.2, 0.5)


@pytest.fixture
def trained_run(folder_dataset, tmp_path_factory):
    """Two real epochs with checkpoints, history and the full report."""
    out = tmp_path_factory.mktemp("run")
    cfg = make_cfg(folder_dataset, out, "trainer.max_epochs=2", "logger=many", *FAST)
    metrics = train(cfg)
    return out, metrics, folder_dataset


def test_run_writes_report_checkpoints_and_tensorboard(trained_run):
    out, metrics, _ = trained_run
    for name in ("report.md", "report.json", "curves.png", "confusion_matrix.png", "reliability.png",
                 "history.json", "class_activation.png"):
        assert (out / name).stat().st_size > 0, name
    assert "(class_activation.png)" in (out / "report.md").read_text()
    report = json.loads((out / "report.json").read_text())
    assert set(report["classes"]) == {"angry", "disgust", "fear", "happy", "neutral", "sad", "surprise"}
    assert all({"precision", "recall", "f1", "support"} <= set(r) for r in report["classes"].values())
    assert sum(r["support"] for r in report["classes"].values()) == 14
    assert sum(map(sum, report["confusion_matrix"])) == 14
    assert 0 <= report["ece"] <= 1 and report["nll"] > 0 and sum(report["reliability"]["count"]) == 14
    assert report["accuracy"] == pytest.approx(metrics["test/acc"])
    assert "| **accuracy** |" in (out / "report.md").read_text()
    assert len(json.loads((out / "history.json").read_text())) == 2 == report["epochs"]
    assert (out / "checkpoints" / "last.ckpt").is_file()
    assert len(list((out / "checkpoints").glob("best-*.ckpt"))) == 1
    assert list((out / "tensorboard").glob("events.out.tfevents.*"))
    assert (out / "csv" / "metrics.csv").is_file()


def test_load_from_checkpoint_needs_no_hydra(trained_run):
    out, _, _ = trained_run
    ckpt = torch.load(out / "checkpoints" / "last.ckpt", weights_only=True)
    hp = ckpt["hyper_parameters"]
    plain = (str, int, float, bool, type(None), list, dict)
    assert all(isinstance(v, plain) for v in hp.values())
    assert "_target_" not in json.dumps(hp)
    # A fresh interpreter with no Hydra config in sight rebuilds and runs the model.
    code = (
        "import sys, torch; from fer.training.module import FERModule;"
        "m = FERModule.load_from_checkpoint(sys.argv[1], map_location='cpu', weights_only=True).eval();"
        "print(tuple(m(torch.rand(2, 1, 48, 48)).shape), m.hparams.model['name'], len(m.hparams.class_weights))"
    )
    res = subprocess.run([sys.executable, "-c", code, str(out / "checkpoints" / "last.ckpt")],
                         capture_output=True, text=True, cwd="/", timeout=300)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "(2, 7) cnn4 7"


def test_resume_continues_from_last_checkpoint(trained_run, tmp_path):
    out, _, root = trained_run
    cfg = make_cfg(root, tmp_path, "trainer.max_epochs=3", f"ckpt_path={out / 'checkpoints' / 'last.ckpt'}",
                   "logger=csv", *FAST)
    train(cfg)
    history = json.loads((tmp_path / "history.json").read_text())
    assert [r["epoch"] for r in history] == [0, 1, 2]  # two restored rows plus the new epoch
    # The report's training time spans both processes, not only the resumed epoch.
    before = json.loads((out / "history.json").read_text())[-1]["time_s"]
    assert json.loads((tmp_path / "report.json").read_text())["train_time_s"] >= history[-1]["time_s"] > before
    first = torch.load(out / "checkpoints" / "last.ckpt", weights_only=True)
    resumed = torch.load(tmp_path / "checkpoints" / "last.ckpt", weights_only=True)
    assert resumed["global_step"] == first["global_step"] * 3 // 2  # 42 images / batch 8 = 5 steps an epoch


def run_eval(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "scripts/eval.py", *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=300)


def test_eval_script_writes_report_with_flip_tta_and_ensemble(trained_run, tmp_path):
    out, _, root = trained_run
    ckpt = out / "checkpoints" / "last.ckpt"
    data = [f"data.root={root}", f"data.cache_dir={tmp_path / 'cache'}"]
    res = run_eval(f"ckpt=[{ckpt},{ckpt}]", *data, "tta=flip", "split=test", f"hydra.run.dir={tmp_path / 'ens'}")
    assert res.returncode == 0, res.stderr[-2000:]
    report = json.loads((tmp_path / "ens" / "report.json").read_text())
    assert report["tta"] == "flip" and report["split"] == "test" and report["support"] == 14
    assert (tmp_path / "ens" / "confusion_matrix.png").is_file()
    # Calibration of the flip-averaged ensemble probabilities, printed and written.
    assert f"ECE {report['ece']:.4f} (15 bins), NLL {report['nll']:.4f}" in res.stdout
    assert sum(report["reliability"]["count"]) == 14 and (tmp_path / "ens" / "reliability.png").is_file()
    assert not (tmp_path / "ens" / "curves.png").exists()  # an ensemble has no single history
    # One checkpoint of a run: its history and training command come along into the report.
    (out / ".hydra").mkdir(exist_ok=True)
    (out / ".hydra" / "overrides.yaml").write_text("- trainer.max_epochs=2\n")
    # The mode's old name still runs, and the report names the mode by its current name.
    res = run_eval(f"ckpt={ckpt}", *data, "tta=tencrop", f"hydra.run.dir={tmp_path / 'one'}")
    assert res.returncode == 0, res.stderr[-2000:]
    twelvecrop = json.loads((tmp_path / "one" / "report.json").read_text())
    assert twelvecrop["tta"] == "twelvecrop" and "tta=twelvecrop," in res.stdout
    assert twelvecrop["split"] == "val" and 0 <= twelvecrop["ece"] <= 1 and twelvecrop["nll"] > 0
    assert (tmp_path / "one" / "curves.png").is_file()
    assert "python scripts/train.py trainer.max_epochs=2" in (tmp_path / "one" / "report.md").read_text()


def test_eval_accepts_a_bundle_in_an_ensemble(trained_run, tmp_path):
    from fer.checkpoints import export_bundle

    out, _, root = trained_run
    ckpt = out / "checkpoints" / "last.ckpt"
    bundle = tmp_path / "model.pt"
    export_bundle(ckpt, bundle, precision="fp32")
    data = [f"data.root={root}", f"data.cache_dir={tmp_path / 'cache'}", "split=test"]
    reports = {}
    for name, ckpts in (("ckpt", f"{ckpt}"), ("pair", f"[{ckpt},{bundle}]")):
        res = run_eval(f"ckpt={ckpts}", *data, f"hydra.run.dir={tmp_path / name}")
        assert res.returncode == 0, res.stderr[-2000:]
        reports[name] = json.loads((tmp_path / name / "report.json").read_text())
    # The bundle holds the same network, so averaging it with its checkpoint changes nothing.
    assert reports["pair"]["accuracy"] == reports["ckpt"]["accuracy"]
    assert reports["pair"]["confusion_matrix"] == reports["ckpt"]["confusion_matrix"]


def test_eval_missing_checkpoint_is_a_clear_error(tmp_path):
    res = run_eval("ckpt=/no/such.ckpt", f"hydra.run.dir={tmp_path}")
    assert res.returncode == 2
    assert "checkpoint not found: /no/such.ckpt" in res.stderr and "Traceback" not in res.stderr


def test_nan_loss_stops_and_keeps_best_checkpoint(folder_dataset, tmp_path, monkeypatch, caplog):
    original = FERModule.loss

    def poisoned(self, logits, target):
        loss = original(self, logits, target)
        return loss * float("nan") if self.training and self.current_epoch >= 1 else loss

    monkeypatch.setattr(FERModule, "loss", poisoned)
    cfg = make_cfg(folder_dataset, tmp_path, "trainer.max_epochs=5", "logger=csv", *FAST)
    metrics = train(cfg)
    assert "non-finite training loss" in caplog.text
    history = json.loads((tmp_path / "history.json").read_text())
    assert len(history) <= 2  # stopped in epoch 1 instead of running 5
    best = next((tmp_path / "checkpoints").glob("best-*.ckpt"))
    state = torch.load(best, weights_only=True)["state_dict"]
    assert all(torch.isfinite(v).all() for v in state.values() if v.is_floating_point())
    assert 0.0 <= metrics["test/acc"] <= 1.0


def test_multirun_sweep_runs_every_combination(folder_dataset, tmp_path):
    env = {**os.environ, "FER2013_ROOT": str(folder_dataset)}
    res = subprocess.run(
        [sys.executable, "scripts/train.py", "-m", "debug=fast_dev_run", "optim.lr=1e-3,3e-4", *FAST,
         f"data.cache_dir={tmp_path / 'cache'}", f"paths.log_dir={tmp_path}"],
        capture_output=True, text=True, cwd=ROOT, env=env, timeout=600,
    )
    assert res.returncode == 0, res.stderr[-3000:]
    jobs = sorted((tmp_path / "debug" / "multiruns").glob("*/*/report.json"))
    assert [p.parent.name for p in jobs] == ["0", "1"]


def test_optuna_search_runs_trials(folder_dataset, tmp_path):
    pytest.importorskip("hydra_plugins.hydra_optuna_sweeper", reason='needs pip install -e ".[optuna]"')
    res = subprocess.run(
        [sys.executable, "scripts/train.py", "-m", "hparams_search=optuna", "debug=fast_dev_run",
         "hydra.sweeper.n_trials=2", "hydra.sweeper.sampler.n_startup_trials=1", f"data.root={folder_dataset}",
         f"data.cache_dir={tmp_path / 'cache'}", f"paths.log_dir={tmp_path}", *FAST[1:]],
        capture_output=True, text=True, cwd=ROOT, timeout=600,
    )
    assert res.returncode == 0, res.stderr[-3000:]
    assert "Best value" in res.stdout + res.stderr
    assert len(list((tmp_path / "debug" / "multiruns").glob("*/*/report.json"))) == 2

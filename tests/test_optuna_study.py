"""One Optuna study shared by several workers through a database, and pruning by validation accuracy."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.conftest import ROOT
from tests.test_training import FAST

optuna = pytest.importorskip("optuna", reason='needs pip install -e ".[optuna]"')
pytest.importorskip("hydra_plugins.hydra_optuna_sweeper", reason='needs pip install -e ".[optuna]"')


def start(script: str, *args: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, f"scripts/{script}", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, cwd=ROOT, env=env)


def finish(proc: subprocess.Popen) -> str:
    out, _ = proc.communicate(timeout=600)
    assert proc.returncode == 0, out[-3000:]
    return out


def test_two_sweeps_share_one_study_and_never_repeat_a_trial(folder_dataset, tmp_path):
    storage = f"sqlite:///{tmp_path / 'study.db'}"
    common = ["-m", "hparams_search=optuna", "debug=fast_dev_run", "hydra.sweeper.n_trials=2",
              f"hydra.sweeper.storage={storage}", "hydra.sweeper.study_name=shared",
              f"data.root={folder_dataset}", f"data.cache_dir={tmp_path / 'cache'}", *FAST[1:]]
    # Created once before the workers start: two processes creating a fresh database's tables at the same
    # moment can collide, so the README does the same with `optuna create-study`.
    optuna.create_study(storage=storage, study_name="shared", direction="maximize")
    workers = [start("train.py", *common, f"hydra.sweep.dir={tmp_path / f'worker{i}'}") for i in range(2)]
    for w in workers:
        finish(w)
    trials = optuna.load_study(study_name="shared", storage=storage).trials
    numbers = [t.number for t in trials]
    assert len(trials) == 4 and sorted(numbers) == [0, 1, 2, 3]
    assert all(t.state == optuna.trial.TrialState.COMPLETE for t in trials)


def test_search_prunes_trials_by_validation_accuracy(folder_dataset, tmp_path):
    storage = f"sqlite:///{tmp_path / 'study.db'}"
    # No accuracy reaches 1.1, so the threshold pruner stops every trial at its first report.
    out = finish(start("search.py", "search.n_trials=2", f"search.storage={storage}", "search.study_name=pruned",
                       "search.pruner._target_=optuna.pruners.ThresholdPruner", "~search.pruner.n_startup_trials",
                       "~search.pruner.n_warmup_steps", "+search.pruner.lower=1.1", "trainer.max_epochs=3",
                       "logger=csv", f"data.root={folder_dataset}", f"data.cache_dir={tmp_path / 'cache'}",
                       f"hydra.run.dir={tmp_path / 'run'}", *FAST))
    trials = optuna.load_study(study_name="pruned", storage=storage).trials
    assert [t.state for t in trials] == [optuna.trial.TrialState.PRUNED] * 2, out[-2000:]
    assert all(list(t.intermediate_values) == [0] for t in trials)  # stopped after the first epoch
    assert "pruned after epoch 0" in out


def test_search_completes_trials_and_reports_the_best(folder_dataset, tmp_path):
    storage = f"sqlite:///{tmp_path / 'study.db'}"
    out = finish(start("search.py", "search.n_trials=2", f"search.storage={storage}", "search.study_name=kept",
                       "trainer.max_epochs=2", "logger=csv", f"data.root={folder_dataset}",
                       f"data.cache_dir={tmp_path / 'cache'}", f"hydra.run.dir={tmp_path / 'run'}", *FAST))
    trials = optuna.load_study(study_name="kept", storage=storage).trials
    assert [t.state for t in trials] == [optuna.trial.TrialState.COMPLETE] * 2, out[-2000:]
    assert all(len(t.intermediate_values) == 2 for t in trials)  # val/acc reported after both epochs
    assert (tmp_path / "run" / "trial_1" / "history.json").is_file()
    assert "best" in out

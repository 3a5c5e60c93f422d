"""Training and data lose nothing and say what is wrong: resume keeps the best checkpoint, bad rows,
files and values are named, unsafe checkpoints are refused plainly."""

from __future__ import annotations

import errno
import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from fer.checkpoints.loading import read_weights_only, weights_only_refusal
from fer.data.csv_reader import read_csv
from fer.data.load import load_fer2013
from fer.errors import CheckpointError, ConfigError, CSVFormatError
from fer.training.fit import train
from fer.training.module import FERModule
from fer.training.resume import continue_in_run_folder
from tests.conftest import ROOT, face_like, make_csv
from tests.test_training import FAST, make_cfg

ENV = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONWARNINGS": "ignore"}


def script(name: str, *args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "scripts" / name), *args], capture_output=True, text=True,
                          cwd=cwd, env=ENV, timeout=600)


def output(res: subprocess.CompletedProcess) -> str:
    return res.stdout + res.stderr


# 5. Resuming continues in the original folder and the report scores the real best ------------------

def poor_validation(self, batch, batch_idx):
    """Every prediction wrong: no resumed epoch can beat the best of the first run."""
    x, y = batch
    logits = F.one_hot((y + 1) % len(self.hparams.class_names), len(self.hparams.class_names)).float() * 10
    self._update_metrics("val", logits, y, self.loss(logits, y))


def test_resume_keeps_the_best_checkpoint_of_the_original_run(folder_dataset, tmp_path, monkeypatch, caplog):
    run = tmp_path / "runs" / "first"
    train(make_cfg(folder_dataset, run, "trainer.max_epochs=2", "logger=csv", *FAST))
    first_best = next((run / "checkpoints").glob("best-*.ckpt"))
    first_acc = max(r["val/acc"] for r in json.loads((run / "history.json").read_text()))

    monkeypatch.setattr(FERModule, "validation_step", poor_validation)
    cfg = make_cfg(folder_dataset, tmp_path / "runs" / "second", "trainer.max_epochs=4", "logger=csv",
                   f"ckpt_path={run / 'checkpoints' / 'last.ckpt'}", *FAST)
    assert continue_in_run_folder(cfg) == run.resolve()
    with caplog.at_level(logging.WARNING):
        metrics = train(cfg)
    assert "won't be reloaded" not in caplog.text
    history = json.loads((run / "history.json").read_text())
    assert [r["epoch"] for r in history] == [0, 1, 2, 3]
    assert [r["val/acc"] for r in history[2:]] == [0.0, 0.0]
    report = json.loads((run / "report.json").read_text())
    assert Path(report["checkpoint"]).resolve() == first_best.resolve()
    assert metrics["best_val/acc"] == pytest.approx(first_acc)
    assert list((run / "checkpoints").glob("best-*.ckpt")) == [first_best]
    second = tmp_path / "runs" / "second"
    assert not (second / "checkpoints").exists() and not (second / "report.json").exists()
    # The first part's metrics stay; the resumed part logs next to them.
    assert len((run / "csv" / "metrics.csv").read_text().splitlines()) > 2
    assert (run / "csv" / "resumed_1" / "metrics.csv").is_file()


def test_train_script_resumes_in_the_run_folder(folder_dataset, tmp_path):
    run = tmp_path / "first"
    train(make_cfg(folder_dataset, run, "trainer.max_epochs=1", "logger=csv", *FAST))
    res = script("train.py", f"ckpt_path={run / 'checkpoints' / 'last.ckpt'}", "trainer.max_epochs=2",
                 f"data.root={folder_dataset}", f"data.cache_dir={tmp_path / 'cache'}", f"paths.log_dir={tmp_path}",
                 "logger=csv", *FAST)
    assert res.returncode == 0, output(res)[-3000:]
    assert "won't be reloaded" not in output(res)
    assert len(json.loads((run / "history.json").read_text())) == 2
    assert json.loads((run / "report.json").read_text())["epochs"] == 2
    assert not list((tmp_path / "train" / "runs").glob("*/report.json"))  # nothing in a new folder


def test_resuming_a_one_cycle_run_for_longer_says_what_to_do(folder_dataset, tmp_path):
    run = tmp_path / "run"
    train(make_cfg(folder_dataset, run, "trainer.max_epochs=2", "optim=sgd_onecycle", "logger=csv", *FAST))
    cfg = make_cfg(folder_dataset, run, "trainer.max_epochs=4", "optim=sgd_onecycle", "logger=csv",
                   f"ckpt_path={run / 'checkpoints' / 'last.ckpt'}", *FAST)
    with pytest.raises(ConfigError, match=r"planned for 2 epochs .* trainer.max_epochs=2 to finish"):
        train(cfg)


def test_resuming_with_another_model_names_the_original_settings(folder_dataset, tmp_path):
    ckpt = tmp_path / "last.ckpt"
    torch.save({"hyper_parameters": {"model": "fastcnn", "model_kwargs": {}}, "state_dict": {},
                "optimizer_states": [], "loops": {}}, ckpt)
    with pytest.raises(ConfigError, match="holds model 'fastcnn'"):
        train(make_cfg(folder_dataset, tmp_path / "again", f"ckpt_path={ckpt}", *FAST))


# 6. fer2013.csv: every row names its Usage, the header names its columns -------------------------

def test_empty_usage_is_an_error_with_its_line(tmp_path):
    path = make_csv(tmp_path / "fer2013.csv", {"Training": 1})
    rows = path.read_text().splitlines()
    rows[3] = rows[3].rsplit(",", 1)[0] + ","
    path.write_text("\n".join(rows) + "\n")
    with pytest.raises(CSVFormatError, match=r"line 4: an empty Usage; it must be one of Training"):
        read_csv(path)


def test_missing_usage_column_is_named(tmp_path):
    pixels = " ".join(map(str, face_like(0, np.random.default_rng(0)).ravel()))
    path = tmp_path / "fer2013.csv"
    path.write_text(f"emotion,pixels\n0,{pixels}\n")
    with pytest.raises(CSVFormatError, match="line 1: the header must name the columns emotion,pixels,Usage; "
                                             "missing: Usage"):
        read_csv(path)


# 8. Skipped files are named; truncated JPEGs are skipped, not filled with grey ---------------------

def test_truncated_jpeg_is_skipped_and_named(folder_dataset, tmp_path, caplog):
    victim = next((folder_dataset / "train" / "happy").glob("*.jpg"))
    data = victim.read_bytes()
    victim.write_bytes(data[: len(data) * 2 // 3])  # cv2.imread would fill the missing third with grey
    renamed = next((folder_dataset / "train" / "angry").glob("*.jpg"))  # a cut JPEG under a .png name
    renamed.rename(renamed.with_suffix(".png"))
    renamed = renamed.with_suffix(".png")
    renamed.write_bytes(renamed.read_bytes()[:-40])
    padded = next((folder_dataset / "train" / "sad").glob("*.jpg"))
    padded.write_bytes(padded.read_bytes() + b"\x00" * 16)  # trailing bytes after the end marker are fine
    for i in range(7):
        (folder_dataset / "train" / "surprise" / f"Training_bad{i}.jpg").write_bytes(b"not a jpeg")
    with caplog.at_level(logging.WARNING):
        splits = load_fer2013(folder_dataset, tmp_path / "cache")
    assert splits.skipped == 9 and len(splits.train) == 7 * 6 + 7 - 9
    assert f"{victim.name} (truncated JPEG)" in caplog.text and f"{renamed.name} (truncated JPEG)" in caplog.text
    assert "and 4 more" in caplog.text and padded.name not in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        load_fer2013(folder_dataset, tmp_path / "cache")  # from the cache: still named
    assert victim.name in caplog.text


# 9. Bad training values end with one line and exit 2 ----------------------------------------------

@pytest.mark.parametrize(("override", "message"), [
    ("trainer.max_epochs=abc", "trainer.max_epochs='abc' must be a whole number"),
    ("data.batch_size=abc", "data.batch_size='abc' must be a whole number >= 1"),
    ("+model.lrr=0.1", "model has no setting lrr; valid model settings: channels_last, kwargs, name, pretrained"),
    ("+optim.lrr=0.1", "optim has no setting lrr; valid optim settings:"),
    ("+loss.smoothing=0.1", "loss has no setting smoothing; valid loss settings:"),
    ("optim.lr=fast", "optim.lr='fast' must be a number"),
    ("optim.lr=-1", "optim.lr=-1 must be a finite number > 0"),
    ("optim.lr=0", "optim.lr=0 must be a finite number > 0"),
    ("optim.lr=nan", "optim.lr=nan must be a finite number > 0"),
    ("optim.lr=inf", "optim.lr=inf must be a finite number > 0"),
    ("optim.weight_decay=-0.1", "optim.weight_decay=-0.1 must be a finite number >= 0"),
    ("optim.momentum=2", r"optim.momentum=2 must be a number in \[0.0, 1.0\]"),
    ("optim.plateau_patience=-1", "optim.plateau_patience=-1 must be a whole number >= 0"),
    ("loss.label_smoothing=1.5", r"loss.label_smoothing=1.5 must be a number in \[0.0, 1.0\]"),
    ("data.batch_size=0", "data.batch_size=0 must be a whole number >= 1"),
    ("data.train_subset=-5", "data.train_subset=-5 must be a whole number >= 1 or null"),
])
def test_bad_training_values_are_refused_where_they_enter(folder_dataset, tmp_path, override, message):
    with pytest.raises(ConfigError, match=message.replace("+", r"\+")):
        train(make_cfg(folder_dataset, tmp_path, "debug=fast_dev_run", *FAST, override))


@pytest.mark.parametrize(("override", "message"), [
    ("+model.lrr=0.1", "valid model settings: channels_last, kwargs, name, pretrained"),
    ("optim.lr=nan", "optim.lr=nan must be a finite number > 0"),
])
def test_train_script_bad_value_is_one_line_exit_2(folder_dataset, tmp_path, override, message):
    res = script("train.py", override, "trainer.max_epochs=1", f"data.root={folder_dataset}",
                 f"paths.log_dir={tmp_path}")
    assert res.returncode == 2 and "Traceback" not in output(res)
    assert message in res.stderr


@pytest.mark.parametrize("kind", ["empty", "truncated"])
def test_resuming_from_an_empty_or_truncated_checkpoint(folder_dataset, tmp_path, kind):
    ckpt = tmp_path / "last.ckpt"
    if kind == "empty":
        ckpt.write_bytes(b"")
    else:
        torch.save({"state_dict": {"w": torch.zeros(1000)}, "hyper_parameters": {}}, ckpt)
        ckpt.write_bytes(ckpt.read_bytes()[:600])
    with pytest.raises(CheckpointError, match="not a readable PyTorch checkpoint"):
        train(make_cfg(folder_dataset, tmp_path / "run", f"ckpt_path={ckpt}", *FAST))


def test_eval_without_ckpt_uses_the_bundled_model_and_cuda_without_gpu_is_named(tmp_path):
    (tmp_path / "faces" / "happy").mkdir(parents=True)
    cv2.imwrite(str(tmp_path / "faces" / "happy" / "a.png"), face_like(3, np.random.default_rng(0)))
    res = script("eval.py", f"data.root={tmp_path / 'faces'}", f"hydra.run.dir={tmp_path / 'out'}")
    assert res.returncode == 0, output(res)[-2000:]
    assert "fer/weights/fer2013-fastcnn48." in json.loads((tmp_path / "out" / "report.json").read_text())["checkpoint"]
    if not torch.cuda.is_available():
        res = script("eval.py", "device=cuda", f"data.root={tmp_path / 'faces'}", f"hydra.run.dir={tmp_path / 'o2'}")
        assert res.returncode == 2 and "Traceback" not in output(res)
        assert "no CUDA GPU is available" in res.stderr


# 10. A checkpoint holding code is refused plainly, never with advice to load it unsafely ----------

class Payload:
    def __reduce__(self):
        return (os.system, ("echo ran > /dev/null",))


def test_code_in_a_checkpoint_is_named_not_called_corrupt(tmp_path):
    ckpt = tmp_path / "evil.ckpt"
    torch.save({"state_dict": {}, "x": Payload()}, ckpt)
    with pytest.raises(CheckpointError, match=r"holds objects other than weights .*system.* not loaded"):
        read_weights_only(ckpt)
    torch.save({"f": print}, tmp_path / "fn.ckpt")
    with pytest.raises(CheckpointError, match=r"holds objects other than weights and plain values \(print\)"):
        read_weights_only(tmp_path / "fn.ckpt")
    assert weights_only_refusal("Weights only load failed. ... Trying to load unsupported GLOBAL posix.system "
                                "whose module posix is blocked.") == "posix.system"
    assert weights_only_refusal("invalid load key, 'x'.") is None


def test_train_script_refuses_code_in_ckpt_path_plainly(folder_dataset, tmp_path):
    ckpt = tmp_path / "evil.ckpt"
    torch.save({"state_dict": {}, "x": Payload()}, ckpt)
    res = script("train.py", f"ckpt_path={ckpt}", f"data.root={folder_dataset}", f"paths.log_dir={tmp_path}")
    assert res.returncode == 2 and "Traceback" not in output(res)
    assert "holds objects other than weights" in res.stderr and "not loaded" in res.stderr
    assert "weights_only" not in output(res)


# 11. A disk that fills during training leaves the earlier checkpoints whole ----------------------

class FillingDisk:
    """A file with `room` bytes of space left: a write beyond it stores what fits, then fails as a full disk does."""

    def __init__(self, f, room: int):
        self.f, self.room = f, room

    def write(self, data) -> int:
        data = memoryview(data).cast("B")
        if len(data) > self.room:
            self.f.write(data[:self.room])
            self.room = 0
            raise OSError(errno.ENOSPC, "No space left on device")
        self.room -= len(data)
        return self.f.write(data)

    def __getattr__(self, name):
        return getattr(self.f, name)


def test_a_full_disk_during_training_is_one_line_and_keeps_the_earlier_checkpoints(folder_dataset, tmp_path,
                                                                                   monkeypatch, capsys):
    from fer.cli.entrypoint import exit_on_user_error
    from fer.outputs import PendingFile

    real_open, opened = PendingFile.open, []

    def open_on_a_filling_disk(self, mode="w", **kwargs):
        f = real_open(self, mode, **kwargs)
        if self.final.suffix != ".ckpt":
            return f
        opened.append(self.final.name)
        return f if len(opened) <= 2 else FillingDisk(f, room=4096)  # epoch 0's best and last fit, then full

    monkeypatch.setattr(PendingFile, "open", open_on_a_filling_disk)
    run = tmp_path / "run"
    with pytest.raises(SystemExit) as exit_:
        exit_on_user_error(train)(make_cfg(folder_dataset, run, "trainer.max_epochs=3", "logger=csv",
                                           "callbacks.early_stopping=null", *FAST))
    assert exit_.value.code == 2 and len(opened) == 3
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith(f"error: no space left on the disk holding {run / 'checkpoints' / opened[2]}")
    # A traceback of this run's failure must not reach the user. Reports that Python prints about other
    # objects (the garbage collector's "Exception ignored in", logging's "--- Logging error ---" for a
    # handler an earlier test left on a closed stream) are not this run's.
    raised = [i for i, line in enumerate(err) if "Traceback" in line
              and not (i and err[i - 1].startswith(("Exception ignored", "--- Logging error ---")))]
    assert "nothing was replaced" in err[-1] and not raised, "\n".join(err)
    files = sorted(p.name for p in (run / "checkpoints").iterdir())
    assert files == sorted(opened[:2]) and not any("partial" in name for name in files)
    for name in files:  # whole: they load, and hold epoch 0
        assert torch.load(run / "checkpoints" / name, weights_only=True)["epoch"] == 0

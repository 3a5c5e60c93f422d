"""`ferkit <command>`: the list of commands, the refusal of unknown ones, and the same runs as scripts/*.py."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from fer.cli.main import COMMANDS

ROOT = Path(__file__).resolve().parents[1]
# `python -m fer.cli.main` is what the installed `ferkit` script calls; it needs no PATH entry.
FERKIT = [sys.executable, "-m", "fer.cli.main"]
FAST = ["debug=fast_dev_run", "data.batch_size=8", "data.eval_batch_size=16", "callbacks.progress_bar=null",
        "trainer.enable_model_summary=false"]


def run(args: list, cwd: Path, timeout: int = 300) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "PROJECT_ROOT"}
    return subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout)


def test_help_lists_every_command_with_one_line(tmp_path):
    res = run([*FERKIT, "--help"], cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    lines = [line.split() for line in res.stdout.splitlines() if line.startswith("  ")]
    assert [words[0] for words in lines] == list(COMMANDS) == ["train", "eval", "webcam", "serve", "analyze",
                                                               "export", "search"]
    assert all(len(words) > 3 for words in lines)


def test_the_ferkit_script_is_on_path(tmp_path):
    ferkit = shutil.which("ferkit")
    if ferkit is None:
        pytest.skip("`pip install -e .` puts ferkit on PATH")
    res = run([ferkit, "--help"], cwd=tmp_path)
    assert res.returncode == 0 and "webcam" in res.stdout


@pytest.mark.parametrize("args", [["trian"], []], ids=["unknown", "none"])
def test_unknown_or_missing_command_exits_2_listing_the_valid_ones(tmp_path, args):
    res = run([*FERKIT, *args], cwd=tmp_path)
    assert res.returncode == 2
    assert all(name in res.stderr for name in COMMANDS)
    if args:
        assert len(res.stderr.strip().splitlines()) == 1 and "'trian'" in res.stderr


@pytest.mark.parametrize("port", ["abc", "70000"])
def test_serve_with_a_bad_port_is_one_line_and_exit_2(tmp_path, port):
    res = run([*FERKIT, "serve", f"port={port}"], cwd=tmp_path)
    assert res.returncode == 2
    assert len(res.stderr.strip().splitlines()) == 1 and "error: port=" in res.stderr, res.stderr


def test_export_keeps_its_options(tmp_path):
    res = run([*FERKIT, "export", "--help"], cwd=tmp_path)
    assert res.returncode == 0 and "usage: ferkit export" in res.stdout and "--format" in res.stdout
    missing = run([*FERKIT, "export", str(tmp_path / "none.ckpt"), "--out", str(tmp_path / "m.onnx")], cwd=tmp_path)
    assert missing.returncode == 2 and len(missing.stderr.strip().splitlines()) == 1, missing.stderr


@pytest.mark.parametrize("value", ["abc", "-5", "0"])
def test_export_bad_flag_values_are_one_line_and_exit_2(tmp_path, value):
    res = run([*FERKIT, "export", "m.ckpt", "--out", "m.onnx", "--calib", value], cwd=tmp_path)
    assert res.returncode == 2
    assert res.stderr.strip().splitlines() == [f"error: argument --calib: {value!r} must be a whole number >= 1 "
                                               "(training faces to calibrate on); see ferkit export --help"]
    assert not (tmp_path / "m.onnx").exists()


def test_export_missing_arguments_are_one_line_too(tmp_path):
    res = run([*FERKIT, "export"], cwd=tmp_path)
    assert res.returncode == 2
    assert res.stderr.strip().splitlines() == ["error: the following arguments are required: ckpt, --out; "
                                               "see ferkit export --help"]


def test_ferkit_train_is_scripts_train(folder_dataset, tmp_path):
    """The same overrides give the same run; each report records the command the way the run was started."""
    data = [f"data.root={folder_dataset}", f"data.cache_dir={tmp_path / 'cache'}", *FAST]
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    ferkit = run([*FERKIT, "train", *data, f"hydra.run.dir={tmp_path / 'ferkit'}"], cwd=elsewhere)
    assert ferkit.returncode == 0, ferkit.stderr[-3000:]
    script = run([sys.executable, ROOT / "scripts" / "train.py", *data, f"hydra.run.dir={tmp_path / 'script'}"],
                 cwd=ROOT)
    assert script.returncode == 0, script.stderr[-3000:]
    reports = {name: json.loads((tmp_path / name / "report.json").read_text()) for name in ("ferkit", "script")}
    assert reports["ferkit"]["command"] == " ".join(["ferkit train", *data])  # hydra.* overrides are not the job's
    assert reports["script"]["command"] == " ".join(["python scripts/train.py", *data])
    assert reports["ferkit"]["accuracy"] == reports["script"]["accuracy"]
    assert reports["ferkit"]["confusion_matrix"] == reports["script"]["confusion_matrix"]


def ferkit_in_process(monkeypatch, capsys, *args: str) -> tuple[int, list[str]]:
    """`ferkit ARGS` in this process (Hydra refuses a command line before any work): (exit code, stderr lines)."""
    from fer.cli.main import main

    monkeypatch.setattr(sys, "argv", ["ferkit"])
    monkeypatch.delenv("HYDRA_FULL_ERROR", raising=False)
    with pytest.raises(SystemExit) as exit_:
        main(list(args))
    return exit_.value.code, capsys.readouterr().err.strip().splitlines()


@pytest.mark.parametrize(("args", "message"), [
    (["webcam", "smoothin.ema_alpha=0.3"], "there is no setting smoothin; valid settings: camera, ckpt, classifier"),
    (["webcam", "smoothing.ema_alpah=0.3"], "smoothing has no setting ema_alpah; valid smoothing settings: "
                                            "box_alpha, classify_in_background, detect_every, ema_alpha, iou_threshold, "
                                            "max_tracks, persistence"),
    (["serve", "prot=18000"], "there is no setting prot; valid settings:"),
    (["train", "trainr.max_epochs=1"], "there is no setting trainr; valid settings:"),
    (["eval", "splt=test"], "there is no setting splt; valid settings:"),
    (["analyze", "source=x.mp4", "csvv=a.csv"], "there is no setting csvv; valid settings:"),
    (["search", "serch.n_trials=2"], "there is no setting serch; valid settings:"),
    (["webcam", "detector=nosuch"], "there is no detector=nosuch; choose one of: centerface, haar"),
    (["serve", "detector=nosuch"], "there is no detector=nosuch; choose one of: centerface, haar"),
    (["train", "experiment=nosuch"], "there is no experiment=nosuch; choose one of: "),
    (["webcam", "headless=true", "source=/tmp/my holiday", "clip.mp4", "output=o.mp4"],
     "'clip.mp4' is not a key=value override; if it is the rest of a value with spaces, quote the whole "
     "override: \"source='/tmp/my holiday clip.mp4'\""),
    (["webcam", "source=clip(1).mp4"], "cannot read the override 'source=clip(1).mp4' (mismatched input"),
    (["webcam", "smoothing=3"], "smoothing=3 is a group of settings, not a value; set one of them"),
], ids=lambda v: "_".join(v) if isinstance(v, list) else None)
def test_hydra_typos_are_one_line_and_exit_2(monkeypatch, capsys, args, message):
    code, lines = ferkit_in_process(monkeypatch, capsys, *args)
    assert code == 2 and len(lines) == 1, lines
    assert lines[0].startswith(f"error: {message}"), lines


def test_hydra_typo_through_the_installed_command(tmp_path):
    """The real process: one line on stderr, exit code 2 (Hydra alone prints several and exits 1)."""
    res = run([*FERKIT, "train", "trainr.max_epochs=1"], cwd=tmp_path)
    assert res.returncode == 2 and len(res.stderr.strip().splitlines()) == 1, res.stderr
    assert res.stderr.startswith("error: there is no setting trainr; valid settings:") and "trainer" in res.stderr


def test_hydra_full_error_still_gives_hydras_own_report(monkeypatch):
    """HYDRA_FULL_ERROR=1 asks for Hydra's exception; the switch is left as the user set it."""
    from hydra.errors import ConfigCompositionException

    from fer.cli.main import main

    monkeypatch.setattr(sys, "argv", ["ferkit"])
    monkeypatch.setenv("HYDRA_FULL_ERROR", "1")
    with pytest.raises(ConfigCompositionException):
        main(["webcam", "smoothin.ema_alpha=0.3"])
    assert os.environ["HYDRA_FULL_ERROR"] == "1"

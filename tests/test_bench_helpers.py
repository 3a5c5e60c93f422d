"""What the benches share: a video's frames as the project's video source reads them, and the wait for a
started server's /healthz."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from live_helpers import read_video, write_video

from bench.service_process import wait_until_healthy
from bench.video import video_frames
from fer.service.ports import free_port


def test_video_frames_are_the_videos_frames_and_stop_at_the_limit(tmp_path):
    clip = write_video(tmp_path / "clip.mp4", frames=7)
    expected = read_video(clip)
    frames = list(video_frames(clip))
    assert len(frames) == len(expected) == 7
    assert all(np.array_equal(a, b) for a, b in zip(frames, expected, strict=True))
    assert len(list(video_frames(clip, 3))) == 3


def test_a_server_that_exits_before_answering_is_reported():
    proc = subprocess.Popen([sys.executable, "-c", "raise SystemExit(3)"])
    with pytest.raises(RuntimeError, match="exited with code 3"):
        wait_until_healthy(proc, free_port(), timeout=30)


def test_a_server_that_never_answers_times_out():
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        with pytest.raises(RuntimeError, match="did not answer /healthz within 1 s"):
            wait_until_healthy(proc, free_port(), timeout=1)
    finally:
        proc.kill()
        proc.wait()


def budget_report(accuracy: float) -> dict:
    return {"accuracy": accuracy, "ece": 0.02, "epochs": 11,
            "budget": {"model_kwargs": {"width": 16}, "epochs": 12, "end_s": 588.0, "started_at": 0.0}}


def test_budget_seeds_reuses_finished_runs_and_averages_them(tmp_path):
    from bench.budget_seeds import machine_class, run_seed, table

    reports = []
    for seed, acc in ((1, 0.63), (2, 0.65)):
        run = tmp_path / f"10min_avx2_s{seed}"
        run.mkdir()
        (run / "report.json").write_text(json.dumps(budget_report(acc)))
        reports.append(run_seed(10, seed, "unused", run, avx2=True))  # a finished run is read, not trained
    text = table(10, [1, 2], reports, machine_class(avx2=True), avx2=True)
    assert text.startswith("## AVX2 (emulated)\n")
    assert "ONEDNN_MAX_CPU_ISA=AVX2 ATEN_CPU_CAPABILITY=avx2 python scripts/train.py" in text
    assert "| 1 | fastcnn-16 | 11 (12) | 9.8 min | 63.00% | 0.020 |" in text
    assert "**64.00%** (sd 1.41)" in text

"""Headless runs end to end (video and image folder), read back with OpenCV, and bad inputs."""

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import cv2
import pytest
import torch
from live_helpers import (
    FixedDetector,
    lightning_style_checkpoint,
    pipeline,
    read_video,
    synthetic_frame,
    write_video,
)

from fer.api.settings import live_settings
from fer.errors import DisplayError, FERError
from fer.inference.sources import open_source
from fer.live.headless import run_headless
from fer.live.render import RenderStyle
from fer.live.run import run

ROOT = Path(__file__).resolve().parents[1]


# run() sets process-wide thread counts; the rest of the session gets its own back.
pytestmark = pytest.mark.usefixtures("restore_threads")
BOXES = [[40, 60, 80, 80], [190, 70, 80, 80]]


def lines(path):
    return [json.loads(line) for line in Path(path).read_text().splitlines()]


def test_headless_video_end_to_end(tmp_path):
    video = write_video(tmp_path / "in.mp4", frames=10)
    pipe = pipeline(tmp_path, FixedDetector(BOXES), detect_every=2)
    with open_source(str(video)) as src:
        summary = run_headless(pipe, src, tmp_path / "out" / "annotated.mp4")
    frames = read_video(tmp_path / "out" / "annotated.mp4")
    assert summary.frames == 10 and len(frames) == 10
    assert frames[0].shape == (360, round(320 * 360 / 240) + RenderStyle().panel_width, 3)
    records = lines(tmp_path / "out" / "annotated.jsonl")
    assert [r["frame"] for r in records] == list(range(10))
    assert [r["detected"] for r in records] == [True, False] * 5
    for r in records:  # every frame labelled, two tracked faces, distributions over the 7 classes
        assert len(r["boxes"]) == 2 and r["track_ids"] == [1, 2] and r["label"] in r["labels"]
        assert all(abs(sum(p.values()) - 1) < 1e-3 and len(p) == 7 for p in r["probabilities"])


def test_headless_image_folder_end_to_end(tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    for i in range(3):
        cv2.imwrite(str(folder / f"p{i}.jpg"), synthetic_frame(seed=i))
    pipe = pipeline(tmp_path, FixedDetector(BOXES[:1]), detect_every=2)
    with open_source(str(folder)) as src:
        summary = run_headless(pipe, src, tmp_path / "annotated.mp4")  # a folder is made for images
    out = tmp_path / "annotated"
    written = sorted(out.glob("*.png"))
    assert [p.name for p in written] == ["p0_jpg_annotated.png", "p1_jpg_annotated.png", "p2_jpg_annotated.png"]
    assert all(cv2.imread(str(p)) is not None for p in written)
    records = lines(out / "predictions.jsonl")
    assert [r["source"] for r in records] == ["p0.jpg", "p1.jpg", "p2.jpg"]
    assert all(r["detected"] and r["track_ids"] == [1] for r in records)  # each still detected afresh
    assert summary.frames_with_faces == 3


def test_single_image_to_single_png(tmp_path):
    cv2.imwrite(str(tmp_path / "one.png"), synthetic_frame())
    pipe = pipeline(tmp_path, FixedDetector(BOXES))
    with open_source(str(tmp_path / "one.png")) as src:
        run_headless(pipe, src, tmp_path / "one_out.png")
    assert cv2.imread(str(tmp_path / "one_out.png")).shape[1] > 320
    assert len(lines(tmp_path / "one_out.jsonl")) == 1


def test_frame_with_no_face(tmp_path):
    video = write_video(tmp_path / "in.mp4", frames=4)
    pipe = pipeline(tmp_path, FixedDetector([]))
    with open_source(str(video)) as src:
        summary = run_headless(pipe, src, tmp_path / "out.mp4")
    assert summary.frames == 4 and summary.frames_with_faces == 0
    assert all(r["label"] is None and r["boxes"] == [] for r in lines(tmp_path / "out.jsonl"))
    assert len(read_video(tmp_path / "out.mp4")) == 4


def config(tmp_path, **kw):
    cfg = {"ckpt": str(lightning_style_checkpoint(tmp_path / "m.ckpt")), "headless": True, "threads": 1,
           "output": str(tmp_path / "o.mp4"), "detector": {"name": "haar", "detect_scale": 0.5}}
    cfg.update(kw)
    return live_settings(cfg)  # every key of conf/webcam.yaml, as Hydra would pass them


def test_app_runs_haar_on_synthetic_video(tmp_path):
    video = write_video(tmp_path / "in.mp4", frames=6)
    assert run(config(tmp_path, source=str(video), prefetch=True)) == 0
    assert len(read_video(tmp_path / "o.mp4")) == 6 and len(lines(tmp_path / "o.jsonl")) == 6


BAD_INPUTS = {
    "missing checkpoint": (lambda t: {"ckpt": str(t / "nope.ckpt")}, "checkpoint not found"),
    "corrupt checkpoint": (lambda t: {"ckpt": str(corrupt(t))}, "not a readable PyTorch checkpoint"),
    "other architecture": (lambda t: {"ckpt": str(other_arch(t))}, "which this version does not have"),
    "unreadable video": (lambda t: {"source": str(broken_video(t))}, "cannot open"),
    "empty image folder": (lambda t: {"source": str(empty_dir(t))}, "no images in"),
    "no camera": (lambda t: {"source": 7, "camera": {"fallback": [8]}}, "no camera could be opened"),
    "no output": (lambda t: {"output": None}, "headless=true needs output"),
    "unknown detector": (lambda t: {"detector": {"name": "nope"}}, "unknown detector 'nope'"),
}


def corrupt(t):
    (t / "bad.ckpt").write_bytes(random.Random(0).randbytes(3000))
    return t / "bad.ckpt"


def other_arch(t):

    torch.save({"hyper_parameters": {"model": "vit_huge", "class_names": ["a"]}, "state_dict": {}}, t / "vit.ckpt")
    return t / "vit.ckpt"


def broken_video(t):
    (t / "broken.mp4").write_bytes(b"definitely not a video" * 20)
    return t / "broken.mp4"


def empty_dir(t):
    (t / "empty").mkdir()
    return t / "empty"


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_inputs_give_one_clear_message(tmp_path, case):
    make, message = BAD_INPUTS[case]
    cfg = config(tmp_path, source=str(write_video(tmp_path / "ok.mp4", frames=2)))
    cfg.update(make(tmp_path))
    with pytest.raises(FERError) as e:
        run(cfg)
    assert message in str(e.value) and "\n" not in str(e.value)


def script(tmp_path, *args):
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    return subprocess.run([sys.executable, str(ROOT / "scripts" / "webcam.py"), *args,
                           f"hydra.run.dir={tmp_path / 'hydra'}"], capture_output=True, text=True, env=env,
                          cwd=tmp_path, timeout=300)


def test_script_missing_checkpoint_exits_cleanly(tmp_path):
    proc = script(tmp_path, f"ckpt={tmp_path / 'missing.ckpt'}", "headless=true", "output=o.mp4")
    assert proc.returncode == 2
    errors = proc.stderr.strip().splitlines()
    assert len(errors) == 1 and errors[0].startswith("error: checkpoint not found"), proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr


def test_script_video_end_to_end(tmp_path):
    video = write_video(tmp_path / "in.mp4", frames=5)
    ckpt = lightning_style_checkpoint(tmp_path / "m.ckpt")
    proc = script(tmp_path, f"ckpt={ckpt}", f"source={video}", "headless=true", "output=out/annotated.mp4",
                  "threads=1")
    assert proc.returncode == 0, proc.stderr
    assert len(read_video(tmp_path / "out" / "annotated.mp4")) == 5
    assert len(lines(tmp_path / "out" / "annotated.jsonl")) == 5


def test_window_needs_a_display(tmp_path, monkeypatch):
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.setattr(sys, "platform", "linux")
    with pytest.raises(DisplayError, match="headless=true output="):
        run(config(tmp_path, headless=False, source=str(tmp_path)))

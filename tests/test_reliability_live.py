"""Live runs lose nothing: outputs never land on inputs or on each other, signals finalise the files,
and bad values end with one line and exit code 2."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
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
from fer.errors import FERError, OutputError
from fer.inference.sources import open_source
from fer.live.headless import run_headless
from fer.live.run import run

ROOT = Path(__file__).resolve().parents[1]
BOX = [[40, 60, 80, 80]]
# Scripts run from a temporary folder import this checkout's `fer`, not an installed copy.
ENV = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONWARNINGS": "ignore"}


# run() sets process-wide thread counts; the rest of the session gets its own back.
pytestmark = pytest.mark.usefixtures("restore_threads")


def headless(tmp_path, source, output, jsonl=None, inputs=()):
    with open_source(str(source)) as src:
        return run_headless(pipeline(tmp_path, FixedDetector(BOX)), src, output, jsonl, inputs=inputs)


# 1. An output never overwrites an input or another output -------------------------------------------

def overwrite_cases(t: Path):
    video = write_video(t / "clip.mp4", frames=3)
    photo = t / "photo.png"
    cv2.imwrite(str(photo), synthetic_frame())
    link = t / "link.mp4"
    link.symlink_to(video)
    hard = t / "hard.mp4"
    os.link(video, hard)
    return {
        "video onto itself": (video, video, None, "is also the source"),
        "jsonl onto the source": (video, t / "out.mp4", video, "is also the source"),
        "photo onto itself": (photo, photo, None, "is also the source"),
        "through a symlink": (video, link, None, "is the same file as the source"),
        "through a hard link": (video, hard, None, "is the same file as the source"),
        "output and jsonl the same": (video, t / "same.mp4", t / "same.mp4", "is also the output"),
    }


@pytest.mark.parametrize("case", ["video onto itself", "jsonl onto the source", "photo onto itself",
                                  "through a symlink", "through a hard link", "output and jsonl the same"])
def test_outputs_never_overwrite_inputs_or_each_other(tmp_path, case):
    source, output, jsonl, message = overwrite_cases(tmp_path)[case]
    before = {p: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()}
    with pytest.raises(OutputError, match=message):
        headless(tmp_path, source, output, jsonl)
    assert all(p.read_bytes() == b for p, b in before.items())  # every input intact
    assert not [p for p in tmp_path.iterdir() if ".partial" in p.name or p.suffix == ".jsonl"]


def test_checkpoint_is_an_input_too(tmp_path):
    video = write_video(tmp_path / "clip.mp4", frames=2)
    ckpt = lightning_style_checkpoint(tmp_path / "m.ckpt")
    before = ckpt.read_bytes()
    cfg = {"ckpt": str(ckpt), "headless": True, "threads": 1, "source": str(video), "output": str(video),
           "jsonl": str(ckpt)}
    with pytest.raises(OutputError, match="would destroy it"):
        run(live_settings(cfg))
    assert ckpt.read_bytes() == before


def test_script_refuses_output_onto_source(tmp_path):
    video = write_video(tmp_path / "clip.mp4", frames=3)
    before = video.read_bytes()
    ckpt = lightning_style_checkpoint(tmp_path / "m.ckpt")
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "webcam.py"), f"ckpt={ckpt}", "headless=true",
                           f"source={video}", f"output={video}", f"hydra.run.dir={tmp_path / 'h'}"],
                          capture_output=True, text=True, cwd=tmp_path, env=ENV, timeout=300)
    assert proc.returncode == 2, proc.stderr[-2000:]
    errors = proc.stderr.strip().splitlines()
    assert len(errors) == 1 and errors[0].startswith("error: ") and "would destroy it" in errors[0], proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    assert video.read_bytes() == before


def test_a_failing_run_keeps_an_earlier_jsonl(tmp_path, monkeypatch):
    video = write_video(tmp_path / "clip.mp4", frames=3)
    earlier = tmp_path / "out.jsonl"
    earlier.write_text('{"frame": 0, "kept": true}\n')

    def refuse(self, canvas, name):
        raise OutputError("cannot encode")

    monkeypatch.setattr("fer.live.headless.VideoSink.write", refuse)
    with pytest.raises(OutputError):
        headless(tmp_path, video, tmp_path / "out.mp4")
    assert earlier.read_text() == '{"frame": 0, "kept": true}\n'
    assert not [p for p in tmp_path.iterdir() if ".partial" in p.name]


def test_read_only_output_folder_names_the_permission_problem(tmp_path):
    video = write_video(tmp_path / "clip.mp4", frames=2)
    if os.geteuid() == 0:  # root writes anywhere a mode allows; /sys refuses even root
        target = Path("/sys/fer-readonly-test/out.mp4")
    else:
        locked = tmp_path / "locked"
        locked.mkdir()
        locked.chmod(0o555)
        target = locked / "out.mp4"
    with pytest.raises(OutputError, match="no permission to write in") as err:
        headless(tmp_path, video, target)
    assert ".avi" not in str(err.value)


# 2. Folder mode: names cannot collide, the input folder is never written into ----------------------

def test_same_stem_different_suffix_do_not_collide(tmp_path):
    photos = tmp_path / "photos"
    photos.mkdir()
    cv2.imwrite(str(photos / "face.jpg"), synthetic_frame(seed=1))
    cv2.imwrite(str(photos / "face.png"), synthetic_frame(seed=2))
    summary = headless(tmp_path, photos, tmp_path / "annotated")
    names = sorted(Path(p).name for p in summary.written)
    assert names == ["face_jpg_annotated.png", "face_png_annotated.png"]
    a, b = (cv2.imread(str(tmp_path / "annotated" / n)) for n in names)
    assert not np.array_equal(a, b)
    records = [json.loads(line) for line in (tmp_path / "annotated" / "predictions.jsonl").read_text().splitlines()]
    assert [r["source"] for r in records] == ["face.jpg", "face.png"]


def test_output_folder_equal_to_input_folder_is_refused(tmp_path):
    photos = tmp_path / "photos"
    photos.mkdir()
    cv2.imwrite(str(photos / "a.jpg"), synthetic_frame())
    with pytest.raises(OutputError, match="folder of input photos"):
        headless(tmp_path, photos, photos)
    assert sorted(p.name for p in photos.iterdir()) == ["a.jpg"]


def test_a_second_run_replaces_its_own_outputs_and_reads_only_photos(tmp_path):
    photos = tmp_path / "photos"
    photos.mkdir()
    cv2.imwrite(str(photos / "a.jpg"), synthetic_frame())
    for _ in range(2):
        summary = headless(tmp_path, photos, tmp_path / "out")
        assert summary.frames == 1
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a_jpg_annotated.png", "predictions.jsonl"]


# 3. SIGTERM finalises the video and the JSONL like Ctrl-C -------------------------------------------

@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_signal_leaves_a_playable_video_and_parsable_jsonl(tmp_path, signum):
    video = write_video(tmp_path / "long.mp4", frames=3000, size=(160, 120))
    ckpt = lightning_style_checkpoint(tmp_path / "m.ckpt")
    out = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, str(ROOT / "scripts" / "webcam.py"), f"ckpt={ckpt}", "headless=true",
                             f"source={video}", f"output={out / 'annotated.mp4'}", "threads=1",
                             f"hydra.run.dir={tmp_path / 'h'}"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path, env=ENV)
    partial = out / ".annotated.partial.jsonl"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if partial.is_file() and partial.stat().st_size > 20_000:  # well into the video
            break
        time.sleep(0.2)
    assert proc.poll() is None, "the run ended before it could be interrupted"
    proc.send_signal(signum)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 128 + signum, stderr[-2000:]
    assert "Traceback" not in stderr
    frames = read_video(out / "annotated.mp4")
    records = [json.loads(line) for line in (out / "annotated.jsonl").read_text().splitlines()]
    assert 0 < len(records) < 3000
    assert len(frames) == len(records)
    assert [r["frame"] for r in records] == list(range(len(records)))
    assert not partial.exists()


# 9. Bad live values end with one line and exit code 2 ------------------------------------------------

def live_config(tmp_path, **kw):
    cfg = {"ckpt": str(lightning_style_checkpoint(tmp_path / "m.ckpt")), "headless": True, "threads": 1,
           "source": str(write_video(tmp_path / "in.mp4", frames=2)), "output": str(tmp_path / "o.mp4")}
    cfg.update(kw)
    return live_settings(cfg)  # every key of conf/webcam.yaml, as Hydra would pass them


BAD_VALUES = {
    "max_frames=-1": ({"max_frames": -1}, "max_frames=-1 must be a whole number >= 1"),
    "max_frames=abc": ({"max_frames": "abc"}, "max_frames='abc' must be a whole number"),
    "ui.panel_width=0": ({"ui": {"panel_width": 0}}, "ui.panel_width=0 must be a whole number >= 200"),
    "smoothing.ema_alpha=0": ({"smoothing": {"ema_alpha": 0}}, "smoothing.ema_alpha=0"),
    "classifier.threads=0": ({"classifier": {"threads": 0}}, "classifier.threads=0 must be a whole number >= 1"),
    "device=nonsense": ({"device": "nonsense"}, "is not a device"),
}


@pytest.mark.parametrize("case", list(BAD_VALUES))
def test_bad_live_values_are_named(tmp_path, case):
    extra, message = BAD_VALUES[case]
    with pytest.raises(FERError) as e:
        run(live_config(tmp_path, **extra))
    assert message in str(e.value)
    assert not (tmp_path / "o.mp4").exists()


@pytest.mark.skipif(torch.cuda.is_available(), reason="a GPU is present")
def test_cuda_without_a_gpu_is_named(tmp_path):
    with pytest.raises(FERError) as e:
        run(live_config(tmp_path, device="cuda"))
    assert "no CUDA GPU is available" in str(e.value) and "device=cpu" in str(e.value)


def test_tiny_image_is_one_clear_line(tmp_path):
    cv2.imwrite(str(tmp_path / "tiny.png"), np.zeros((5, 5, 3), np.uint8))
    with pytest.raises(FERError, match="only 5x5 pixels"):
        run(live_config(tmp_path, source=str(tmp_path / "tiny.png"), output=str(tmp_path / "t.png")))


def test_tiny_image_in_a_folder_is_skipped_by_name(tmp_path, caplog):
    photos = tmp_path / "photos"
    photos.mkdir()
    cv2.imwrite(str(photos / "tiny.png"), np.zeros((4, 6, 3), np.uint8))
    cv2.imwrite(str(photos / "ok.jpg"), synthetic_frame())
    with caplog.at_level(logging.WARNING):
        summary = headless(tmp_path, photos, tmp_path / "out")
    assert summary.frames == 1 and "tiny.png" in caplog.text and "6x4" in caplog.text


def test_script_bad_values_exit_2_without_traceback(tmp_path):
    ckpt = lightning_style_checkpoint(tmp_path / "m.ckpt")
    video = write_video(tmp_path / "in.mp4", frames=2)
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "webcam.py"), f"ckpt={ckpt}", "headless=true",
                           f"source={video}", "output=o.mp4", "max_frames=abc", f"hydra.run.dir={tmp_path / 'h'}"],
                          capture_output=True, text=True, cwd=tmp_path, env=ENV, timeout=300)
    assert proc.returncode == 2 and "Traceback" not in proc.stdout + proc.stderr
    assert proc.stderr.strip().splitlines()[-1].startswith("error: max_frames='abc'"), proc.stderr

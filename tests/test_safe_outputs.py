"""Every output is written whole or not at all, never onto an input, and a full disk is one line and exit 2
with earlier outputs byte-identical (fer.outputs); damaged videos and partial class sets are said, not hidden."""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from live_helpers import FixedDetector, lightning_style_checkpoint, pipeline, synthetic_frame, write_video

from fer.api.recognizer import Recognizer
from fer.cli.analyze import check_analyze_config
from fer.data.load import load_fer2013
from fer.errors import ConfigError, OutputError, SourceError
from fer.evaluation.classification import classification_table, markdown_table
from fer.evaluation.report import write_report
from fer.inference.sources import open_source
from fer.live.headless import run_headless
from fer.live.sinks import VideoSink
from fer.numbers import fraction, positive_number, whole_number
from fer.outputs import atomic_open, check_destination, check_output, write_atomically
from tests.conftest import make_folder_dataset

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONWARNINGS": "ignore"}
BOX = [[40, 60, 80, 80]]

pytestmark = pytest.mark.usefixtures("restore_threads")


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*") if ".partial" in p.name or p.name.endswith(".tmp"))


def headless(tmp_path, source, output, jsonl=None):
    with open_source(str(source)) as src:
        return run_headless(pipeline(tmp_path, FixedDetector(BOX)), src, output, jsonl)


# 1. One safe writer: whole or nothing ------------------------------------------------------------------

@pytest.mark.parametrize("failure", [OSError(28, "No space left on device"), KeyboardInterrupt()])
def test_a_failed_write_keeps_the_earlier_file_byte_identical(tmp_path, failure):
    target = tmp_path / "out.csv"
    target.write_bytes(b"earlier,run\n1,2\n")
    with pytest.raises(OutputError if isinstance(failure, OSError) else KeyboardInterrupt) as err:
        with atomic_open(target) as f:
            f.write("new,run\n")
            raise failure
    if isinstance(failure, OSError):
        assert "no space left" in str(err.value) and "nothing was replaced" in str(err.value)
    assert target.read_bytes() == b"earlier,run\n1,2\n"
    assert leftovers(tmp_path) == []


def test_a_device_is_written_directly_never_replaced():
    write_atomically("/dev/null", b"discarded")
    with atomic_open("/dev/null") as f:
        f.write("x")
    assert Path("/dev/null").is_char_device()


def test_destinations_that_cannot_be_written_whole_are_refused(tmp_path):
    (tmp_path / "x.mp4").mkdir()
    with pytest.raises(OutputError, match="is a folder; name a file"):
        check_destination(tmp_path / "x.mp4", "output", (".mp4",))
    with pytest.raises(ConfigError, match=r"plot=.*t.mp4 must end in one of \.png"):
        check_destination(tmp_path / "t.mp4", "plot", (".png", ".pdf"))
    with pytest.raises(OutputError, match="must be a regular file"):
        check_destination(Path("/dev/null"), "output", (".mp4",), sink_ok=False)
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(tmp_path / "s.csv"))
    try:
        with pytest.raises(OutputError, match="not a regular file"):
            check_destination(tmp_path / "s.csv", "csv", (".csv",))
    finally:
        sock.close()
    assert check_destination(Path("/dev/null"), "csv", (".csv",)) == Path("/dev/null")


def test_export_out_may_not_be_its_checkpoint(tmp_path):
    ckpt = lightning_style_checkpoint(tmp_path / "m.ckpt")
    with pytest.raises(OutputError, match="is also the checkpoint"):
        check_output(ckpt, force=True, inputs=[("checkpoint", ckpt)])


def test_a_bundle_and_its_sidecar_are_written_whole_and_never_over_the_checkpoint(tmp_path):
    from fer.checkpoints.bundle_export import export_bundle

    ckpt = lightning_style_checkpoint(tmp_path / "m.ckpt")
    before = ckpt.read_bytes()
    with pytest.raises(OutputError, match="is also the checkpoint"):
        export_bundle(ckpt, ckpt)
    assert ckpt.read_bytes() == before
    info = export_bundle(ckpt, tmp_path / "b.pt")
    assert info["precision"] == "fp16" and json.loads((tmp_path / "b.json").read_text())["size_bytes"] > 0
    assert leftovers(tmp_path) == []


def test_a_video_writer_that_loses_frames_is_an_error_not_a_short_video(tmp_path, monkeypatch):
    earlier = tmp_path / "out.mp4"
    earlier.write_bytes(b"an earlier video")
    real = cv2.VideoWriter

    class LosesFrames:  # like a full disk: OpenCV's writer drops frames and reports nothing
        def __init__(self, *args):
            self.inner, self.seen = real(*args), 0

        def isOpened(self):  # noqa: N802 - OpenCV's name
            return self.inner.isOpened()

        def write(self, frame):
            self.seen += 1
            if self.seen == 1:
                self.inner.write(frame)

        def release(self):
            self.inner.release()

    monkeypatch.setattr(cv2, "VideoWriter", LosesFrames)
    sink = VideoSink(earlier, fps=10)
    for i in range(3):
        sink.write(synthetic_frame(seed=i), f"f{i}")
    with pytest.raises(OutputError, match=r"incomplete \(it holds 1 of the 3 frames written"):
        sink.finish()
    sink.abandon()
    assert earlier.read_bytes() == b"an earlier video" and leftovers(tmp_path) == []


# 2. Guards before any work -------------------------------------------------------------------------------

@pytest.mark.parametrize("case", ["output is a folder", "jsonl is a folder"])
def test_folder_outputs_are_refused_before_any_work(tmp_path, case):
    video = write_video(tmp_path / "clip.mp4", frames=2)
    (tmp_path / "x.mp4").mkdir()
    output, jsonl = (tmp_path / "x.mp4", None) if case == "output is a folder" else (tmp_path / "o.mp4", tmp_path)
    with pytest.raises(OutputError, match="is a folder"):
        headless(tmp_path, video, output, jsonl)
    assert leftovers(tmp_path) == [] and not (tmp_path / "o.mp4").exists()


def test_jsonl_to_dev_null_is_written_directly(tmp_path):
    video = write_video(tmp_path / "clip.mp4", frames=3)
    summary = headless(tmp_path, video, tmp_path / "o.mp4", "/dev/null")
    assert summary.frames == 3 and Path("/dev/null").is_char_device()
    assert cv2.VideoCapture(str(tmp_path / "o.mp4")).get(cv2.CAP_PROP_FRAME_COUNT) == 3


def analyze_cfg(tmp_path, **kw):
    return {"source": str(write_video(tmp_path / "clip.mp4", frames=2)), "max_frames": None, **kw}


@pytest.mark.parametrize(("settings", "error", "message"), [
    ({"csv": "{source}"}, OutputError, "csv=.*clip.mp4 is also the source: writing it would destroy it"),
    ({"plot": "{source}"}, OutputError, "plot=.*clip.mp4 is also the source"),
    ({"plot": "t.png", "csv": "t.png"}, OutputError, "plot=t.png is also the csv"),
    ({"plot": "x.mp4"}, ConfigError, r"plot=x.mp4 must end in one of \.png"),
    ({"csv": "{tmp}"}, OutputError, "is a folder; name a file to write"),
    ({"max_frames": 0}, ConfigError, "max_frames=0 must be a whole number >= 1"),
    ({"timeline": {"min_frames": -1}}, ConfigError, "timeline.min_frames=-1 must be a whole number >= 1"),
])
def test_analyze_settings_are_checked_before_the_model_loads(tmp_path, settings, error, message):
    cfg = analyze_cfg(tmp_path)
    before = Path(cfg["source"]).read_bytes()
    for key, value in settings.items():
        cfg[key] = value.format(source=cfg["source"], tmp=tmp_path) if isinstance(value, str) else value
    with pytest.raises(error, match=message):
        check_analyze_config(cfg, tmp_path / "run")
    assert Path(cfg["source"]).read_bytes() == before


def test_analyze_script_refuses_csv_onto_the_source(tmp_path):
    video = write_video(tmp_path / "clip.mp4", frames=2)
    before = video.read_bytes()
    res = subprocess.run([sys.executable, str(ROOT / "scripts" / "analyze.py"), f"source={video}", f"csv={video}",
                          f"hydra.run.dir={tmp_path / 'h'}"], capture_output=True, text=True, cwd=tmp_path, env=ENV,
                         timeout=300)
    assert res.returncode == 2 and "Traceback" not in res.stdout + res.stderr
    assert "is also the source: writing it would destroy it" in res.stderr
    assert video.read_bytes() == before


# 3. The data cache leaves nothing behind -------------------------------------------------------------------

@pytest.mark.parametrize("failure", [KeyboardInterrupt, RuntimeError])
def test_an_interrupted_cache_write_leaves_no_temporary_file(tmp_path, monkeypatch, caplog, failure):
    data = make_folder_dataset(tmp_path / "fer2013", n_train=2, n_public=1, n_private=1)
    real_save = torch.save

    def save_then_fail(obj, f, *args, **kwargs):
        real_save(obj, f, *args, **kwargs)  # the temporary file exists, then Ctrl-C or a failed write
        raise failure("stopped")

    monkeypatch.setattr(torch, "save", save_then_fail)
    cache = tmp_path / "cache"
    if failure is KeyboardInterrupt:
        with pytest.raises(KeyboardInterrupt):
            load_fer2013(data, cache)
    else:
        with caplog.at_level(logging.WARNING):
            assert len(load_fer2013(data, cache).train) > 0  # the data, without a cache
        assert "could not write the data cache" in caplog.text
    assert [p.suffix for p in cache.iterdir()] == [".lock"]


# 4. A damaged video says how much of it was read ----------------------------------------------------------

def damaged_clip(path: Path, frames: int = 72) -> Path:
    """An MJPG .avi whose middle third is overwritten: the container still announces every frame."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 24, (160, 120))
    for i in range(frames):
        writer.write(synthetic_frame(120, 160, seed=i))
    writer.release()
    data = bytearray(path.read_bytes())
    third = len(data) // 3
    data[third:2 * third] = bytes(third)
    path.write_bytes(bytes(data))
    return path


def test_a_damaged_video_is_flagged_in_every_output(tmp_path, caplog):
    clip = damaged_clip(tmp_path / "damaged.avi")
    with open_source(str(clip)) as src:
        read = sum(1 for _ in src)
        assert src.frames_announced == 72 and src.frames_read == read < 72 and src.incomplete
    with caplog.at_level(logging.WARNING):
        summary = headless(tmp_path, clip, tmp_path / "out.mp4")
    assert summary.incomplete and summary.frames_announced == 72 and summary.frames == read
    assert "announces 72 frames but only" in caplog.text

    analysis = Recognizer().analyze(clip)
    body = analysis.to_dict()
    assert body["incomplete"] is True and body["frames_announced"] == 72
    text = analysis.to_csv()
    assert text.startswith("# incomplete: damaged.avi announces 72 frames")
    assert text.splitlines()[1].startswith("frame,time_s,")


def test_a_whole_video_is_not_flagged(tmp_path):
    clip = write_video(tmp_path / "clip.mp4", frames=5)
    summary = headless(tmp_path, clip, tmp_path / "out.mp4")
    assert summary.frames_announced == 5 and not summary.incomplete
    with open_source(str(clip)) as src:
        for _ in zip(range(2), src, strict=False):
            pass
        assert not src.incomplete  # stopped by the reader, not cut short


# 5. A named pipe is refused at once, not waited on forever -------------------------------------------------

def test_a_fifo_source_is_refused_at_once(tmp_path):
    fifo = tmp_path / "stream.mp4"
    os.mkfifo(fifo)
    with pytest.raises(SourceError, match="named pipe"):
        open_source(str(fifo))
    with pytest.raises(SourceError, match="named pipe"):
        check_analyze_config({"source": str(fifo)}, tmp_path)


# 6. Evaluation on a folder with only some classes ------------------------------------------------------------

def test_absent_classes_are_named_and_left_out_of_every_macro_average(tmp_path, caplog):
    names = ["angry", "happy", "sad", "surprise"]
    targets = torch.tensor([1, 1, 1, 2, 2, 2])  # no angry, no surprise
    preds = torch.tensor([1, 1, 0, 2, 2, 1])
    probs = torch.nn.functional.one_hot(preds, len(names)).float()
    table = classification_table(probs, targets, names)
    assert table["absent_classes"] == ["angry", "surprise"]
    present = [table["classes"][c] for c in ("happy", "sad")]
    for key, per in (("macro_f1", "f1"), ("macro_precision", "precision"), ("macro_recall", "recall")):
        assert table[key] == pytest.approx(np.mean([row[per] for row in present]), abs=1e-4)
    assert "| angry | absent |" in markdown_table(table) and "(2 classes present)" in markdown_table(table)
    with caplog.at_level(logging.WARNING):
        report = write_report(tmp_path, probs, targets, names)
    assert "no face of angry, surprise in the labels" in caplog.text
    assert json.loads((tmp_path / "report.json").read_text())["absent_classes"] == ["angry", "surprise"]
    assert "absent classes" in (tmp_path / "report.md").read_text() and report["macro_recall"] == table["macro_recall"]


# 7. One number checker -------------------------------------------------------------------------------------

@pytest.mark.parametrize(("check", "value", "message"), [
    (lambda v: whole_number(v, "max_frames", 1), 0, "max_frames=0 must be a whole number >= 1"),
    (lambda v: whole_number(v, "max_frames", 1), True, "max_frames=True must be a whole number"),
    (lambda v: whole_number(v, "max_frames", 1), 2.0, "max_frames=2.0 must be a whole number"),
    (lambda v: positive_number(v, "optim.lr"), float("nan"), "optim.lr=nan must be a finite number > 0"),
    (lambda v: positive_number(v, "optim.lr"), float("inf"), "optim.lr=inf must be a finite number > 0"),
    (lambda v: positive_number(v, "optim.weight_decay", allow_zero=True), -1e-4, ">= 0"),
    (lambda v: fraction(v, "smoothing.ema_alpha", 0.0, 1.0, low_open=True), 0, r"in \(0.0, 1.0\]"),
])
def test_numbers_are_checked_by_one_checker(check, value, message):
    with pytest.raises(ConfigError, match=message):
        check(value)


@pytest.mark.parametrize(("calib", "message"), [("-5", "argument --calib: '-5' must be a whole number >= 1"),
                                                 ("0", "argument --calib: '0' must be a whole number >= 1")])
def test_export_calibration_count_is_one_line_exit_2(tmp_path, calib, message):
    ckpt = lightning_style_checkpoint(tmp_path / "m.ckpt")
    res = subprocess.run([sys.executable, str(ROOT / "scripts" / "export.py"), str(ckpt), "--out",
                          str(tmp_path / "m.onnx"), "--int8", "--calib", calib, "--no-check"],
                         capture_output=True, text=True, env=ENV, timeout=300)
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1 and res.stderr.startswith(f"error: {message}")
    assert not (tmp_path / "m.onnx").exists()


# 8. A full disk: exit 2, one line, earlier outputs byte-identical, nothing left behind ------------------------

@pytest.fixture
def small_disk(tmp_path):
    """A 1 MiB tmpfs (root only); skipped where mounting is not permitted."""
    disk = tmp_path / "disk"
    disk.mkdir()
    res = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(disk)], capture_output=True,
                         text=True)
    if res.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {res.stderr.strip() or 'mount failed'}")
    try:
        yield disk
    finally:
        subprocess.run(["umount", str(disk)], check=False)


def fill(disk: Path, leave: int) -> None:
    """Use all but about `leave` bytes of the disk."""
    st = os.statvfs(disk)
    free = st.f_bavail * st.f_frsize
    with open(disk / "filler", "wb") as f:
        f.write(b"\0" * max(0, free - leave))


def error_lines(res: subprocess.CompletedProcess) -> list[str]:
    return [line for line in (res.stdout + res.stderr).splitlines() if "ERROR" in line or line.startswith("error")]


def test_webcam_headless_on_a_full_disk_keeps_earlier_outputs(tmp_path, small_disk):
    earlier = headless(tmp_path, write_video(tmp_path / "short.mp4", frames=2, size=(160, 120)),
                       small_disk / "out.mp4")
    assert earlier.frames == 2
    before = {p.name: p.read_bytes() for p in small_disk.iterdir()}
    assert sorted(before) == ["out.jsonl", "out.mp4"]
    fill(small_disk, leave=48_000)
    clip = write_video(tmp_path / "clip.mp4", frames=40)
    ckpt = lightning_style_checkpoint(tmp_path / "m.ckpt")
    res = subprocess.run([sys.executable, str(ROOT / "scripts" / "webcam.py"), f"ckpt={ckpt}", "headless=true",
                          f"source={clip}", f"output={small_disk / 'out.mp4'}", "threads=1",
                          f"hydra.run.dir={tmp_path / 'h'}"], capture_output=True, text=True, cwd=tmp_path,
                         env=ENV, timeout=300)
    assert res.returncode == 2, res.stderr[-2000:]
    assert "Traceback" not in res.stdout + res.stderr
    assert len(error_lines(res)) == 1, res.stderr[-2000:]
    assert "nothing was replaced" in error_lines(res)[0] or "no space left" in error_lines(res)[0]
    assert {p.name: p.read_bytes() for p in small_disk.iterdir() if p.name != "filler"} == before
    assert leftovers(small_disk) == []


def test_analyze_on_a_full_disk_keeps_the_earlier_csv_and_plot(tmp_path, small_disk):
    csv_path, plot_path = small_disk / "a.csv", small_disk / "t.png"
    csv_path.write_text("frame,time_s\n0,0.0\n")
    plot_path.write_bytes(b"an earlier plot")
    fill(small_disk, leave=4_000)  # room for the CSV's header, not for the timeline PNG
    clip = write_video(tmp_path / "clip.mp4", frames=6, size=(160, 120))
    res = subprocess.run([sys.executable, str(ROOT / "scripts" / "analyze.py"), f"source={clip}", f"csv={csv_path}",
                          f"plot={plot_path}", f"hydra.run.dir={tmp_path / 'h'}"], capture_output=True, text=True,
                         cwd=tmp_path, env=ENV, timeout=300)
    assert res.returncode == 2, res.stderr[-2000:]
    assert "Traceback" not in res.stdout + res.stderr
    assert res.stderr.strip().splitlines()[-1].startswith("error: no space left on the disk holding")
    assert len(error_lines(res)) == 1, res.stderr[-2000:]
    assert csv_path.read_text() == "frame,time_s\n0,0.0\n" and plot_path.read_bytes() == b"an earlier plot"
    assert leftovers(small_disk) == []

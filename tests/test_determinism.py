"""Analysing a file gives the same bytes whatever the machine's load or thread counts: the background
classification is applied at a fixed frame. Also the streaming form, frame sampling and the progress bars."""

from __future__ import annotations

import random
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
from live_helpers import FixedDetector, media, needs_media, pipeline, synthetic_frame, write_video

from fer.api.analysis import Analysis
from fer.api.recognizer import Recognizer
from fer.constants import CLASSES
from fer.inference.sources import open_source
from fer.live.headless import run_headless

ROOT = Path(__file__).resolve().parents[1]
BOX = [[40, 60, 80, 80]]


def jitter(owner, name: str, rng: random.Random, calls: list[str] | None = None) -> None:
    """Make half the calls of owner.name, at random, 30 ms late (`calls` collects the threads they ran on)."""
    fast = getattr(owner, name)

    def late(*args, **kwargs):
        if calls is not None:
            calls.append(threading.current_thread().name)
        if rng.random() < 0.5:
            time.sleep(0.03)
        return fast(*args, **kwargs)

    setattr(owner, name, late)


def slowed(pipe, seed: int = 0) -> list[str]:
    """Load as a busy machine makes it: the classifier sometimes late (its result not ready when the loop
    asks), the loop itself sometimes slow (the result ready early). Returns the classifier's threads."""
    rng, threads = random.Random(seed), []
    jitter(pipe.classifier, "predict_batch", rng, threads)
    jitter(pipe.tracker, "expire", rng)
    return threads


@contextmanager
def busy_cores(n: int = 2):
    """Processes that keep `n` cores busy while the block runs."""
    burners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(n)]
    try:
        yield
    finally:
        for p in burners:
            p.kill()
            p.wait()


def test_a_files_frames_take_a_background_result_at_the_next_detection_a_cameras_when_ready(tmp_path):
    for live, applied_at_frame_3 in ((False, 0), (True, 2)):
        pipe = pipeline(tmp_path, FixedDetector(BOX), detect_every=2)
        pipe.classify_in_background = True
        frame = synthetic_frame()
        for index in range(3):  # frame 0 is classified at once (nothing tracked yet), frame 2 on the worker
            pipe.process(frame, index, live=live)
        pipe._pending[2].result()  # ready long before frame 3
        pipe.process(frame, 3, live=live)
        assert pipe.tracker.tracks[0].last_seen == applied_at_frame_3
        pipe.process(frame, 4, live=live)  # the next detection: applied in both
        assert pipe._pending is not None and pipe.tracker.tracks[0].last_seen == 2


@needs_media
def test_analysis_under_load_and_on_more_threads_is_byte_equal_to_analysis_alone():
    clip = media("single_face.mp4")
    alone = Recognizer().analyze(clip, max_frames=40).to_csv()
    for seed in (0, 1):
        loaded = Recognizer()
        run = loaded.analyze_frames(clip, max_frames=40)
        threads = slowed(run.pipeline, seed)
        with busy_cores():
            assert Analysis.collect(run, loaded.class_names).to_csv() == alone
        assert any(name.startswith("fer-classify") for name in threads)  # the background path ran
    more = Recognizer(settings={"threads": 2, "classifier": {"threads": 2}, "prefetch": False})
    assert more.analyze(clip, max_frames=40).to_csv() == alone


@needs_media
def test_concurrent_analyses_each_equal_the_lone_one():
    clip, r = media("single_face.mp4"), Recognizer()
    alone = r.analyze(clip, max_frames=30).to_csv()
    results: list[str] = []
    workers = [threading.Thread(target=lambda: results.append(r.analyze(clip, max_frames=30).to_csv()))
               for _ in range(3)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert results == [alone] * 3


def test_a_headless_run_over_a_video_is_the_same_under_load(tmp_path):
    video = write_video(tmp_path / "clip.mp4", frames=16)
    lines = []
    for slow in (False, True):
        pipe = pipeline(tmp_path, FixedDetector(BOX, [[44, 62, 80, 80]]), detect_every=2)
        pipe.classify_in_background = True
        if slow:
            slowed(pipe)
        with open_source(str(video)) as src:
            run_headless(pipe, src, tmp_path / f"out{slow}.mp4")
        lines.append((tmp_path / f"out{slow}.jsonl").read_text())
    assert lines[0] == lines[1]


def test_sample_fps_keeps_that_many_frames_a_second_with_their_times(tmp_path):
    r = Recognizer(detector=FixedDetector(BOX), settings={"smoothing": {"detect_every": 1}})
    video = write_video(tmp_path / "clip.mp4", frames=30)  # 10 fps
    analysis = r.analyze(video, sample_fps=2.5)
    assert [f.index for f in analysis.frames] == [0, 4, 8, 12, 16, 20, 24, 28]
    assert [f.time_s for f in analysis.frames] == pytest.approx([0, 0.4, 0.8, 1.2, 1.6, 2.0, 2.4, 2.8])
    assert not analysis.incomplete and not analysis.truncated
    rows = analysis.to_csv().splitlines()
    assert rows[1].startswith("0,0.0,1,") and rows[2].startswith("4,0.4,1,")
    run = r.analyze_frames(video, sample_fps=2.5)
    assert run.expected_frames == 8 and sum(1 for _ in run) == 8 and run.frames_read == 30


def test_analyze_frames_streams_the_video_and_keeps_nothing(tmp_path):
    r = Recognizer(detector=FixedDetector(BOX), settings={"prefetch": False})
    run = r.analyze_frames(write_video(tmp_path / "clip.mp4", frames=12))
    frames = iter(run)
    first = next(frames)
    assert first.index == 0 and run.source.frames_read == 1  # read as analysed, not ahead
    assert sum(1 for _ in frames) == 11 and run.analysed == 12 and not hasattr(run, "frames")


def test_rows_as_a_pandas_dataframe(tmp_path):
    pd = pytest.importorskip("pandas")
    r = Recognizer(detector=FixedDetector(BOX))
    analysis = r.analyze(write_video(tmp_path / "clip.mp4", frames=4))
    df = analysis.to_dataframe()
    assert isinstance(df, pd.DataFrame) and list(df.columns) == analysis.columns and len(df) == 4


@needs_media
def test_the_csv_written_as_frames_come_equals_the_one_made_in_memory(tmp_path):
    pytest.importorskip("matplotlib", reason="the timeline needs ferkit[plot]")
    video = media("single_face.mp4")
    res = subprocess.run([sys.executable, "scripts/analyze.py", f"source={video}", f"csv={tmp_path}/a.csv",
                          f"plot={tmp_path}/t.png", "sample_fps=10", "max_frames=12", f"hydra.run.dir={tmp_path}/run"],
                         cwd=ROOT, capture_output=True, text=True)
    assert res.returncode == 0, res.stderr[-2000:]
    expected = Recognizer().analyze(video, max_frames=12, sample_fps=10).to_csv()
    assert (tmp_path / "a.csv").read_bytes().decode() == expected and expected.count("\n") == 13
    assert (tmp_path / "t.png").stat().st_size > 0


def test_a_progress_bar_only_when_asked_or_on_a_terminal(tmp_path, capsys):
    video = write_video(tmp_path / "clip.mp4", frames=6)
    for asked in (None, True):
        with open_source(str(video)) as src:
            run_headless(pipeline(tmp_path, FixedDetector(BOX)), src, tmp_path / "out.mp4", progress_bar=asked)
        err = capsys.readouterr().err
        assert ("6/6" in err) == bool(asked)  # pytest's stderr is no terminal: no bar unless asked


def test_eval_scores_under_a_progress_bar_when_asked(capsys):
    torch = pytest.importorskip("torch")
    from fer.checkpoints.loading import LoadedModel
    from fer.data.splits import LabeledImages
    from fer.evaluation.scoring import evaluate_split
    from fer.models.registry import create_model

    model = LoadedModel(create_model("cnn4"), list(CLASSES), "cnn4")
    faces = LabeledImages(torch.zeros(10, 48, 48, dtype=torch.uint8), torch.zeros(10, dtype=torch.long))
    probs, _ = evaluate_split([model], faces, batch_size=4, progress_bar=True)
    assert probs.shape == (10, 7) and "3/3" in capsys.readouterr().err


@needs_media
def test_a_one_video_analyze_stopped_by_sigterm_writes_nothing_and_exits_143(tmp_path):
    import signal

    csv_path = tmp_path / "a.csv"
    env = {**__import__("os").environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "scripts/analyze.py", f"source={media('WolfgangLanger_Pexels.mp4')}",
                             f"csv={csv_path}", f"hydra.run.dir={tmp_path / 'run'}"], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 120
    while not (tmp_path / ".a.partial.csv").exists() and time.monotonic() < deadline:
        time.sleep(0.01)  # rows are being written
    proc.send_signal(signal.SIGTERM)
    output, _ = proc.communicate(timeout=60)
    assert proc.returncode == 128 + signal.SIGTERM, output[-2000:]
    assert "Traceback" not in output and "no CSV or plot was written" in output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


def test_memory_stays_flat_while_a_long_video_is_written_row_by_row(tmp_path):
    import gc
    import tracemalloc

    from fer.api.analysis_writer import AnalysisWriter

    r = Recognizer(detector=FixedDetector([[10, 10, 40, 40]]), settings={"prefetch": False})
    run = r.analyze_frames(write_video(tmp_path / "long.mp4", frames=1200, size=(96, 72)))
    held = []
    tracemalloc.start()
    try:
        with AnalysisWriter(tmp_path / "long.csv", r.class_names, "long.mp4", run.fps) as writer:
            for frame in run:
                writer.add(frame)
                if frame.index in (200, 1199):
                    gc.collect()
                    held.append(tracemalloc.get_traced_memory()[0])
            writer.finish(run.frames_announced, run.frames_read, run.incomplete)
    finally:
        tracemalloc.stop()
    assert writer.frames == 1200 and len((tmp_path / "long.csv").read_text().splitlines()) == 1201
    assert held[1] - held[0] < 64_000  # a thousand frames more: no more than the allocators' noise

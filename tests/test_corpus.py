"""Corpus runs on clips cut from the shared media: every clip's CSV, the summary with its failed and incomplete
clips, the same bytes on 1 and 2 workers, resume after SIGTERM and kill -9, shards, the local submitit multirun."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from corpus_helpers import make_corpus, outputs, partials, summary_without_times
from live_helpers import needs_media
from test_safe_outputs import fill, small_disk  # noqa: F401 - small_disk is a fixture

import fer
from fer.corpus.listing import list_corpus, shard_of
from fer.corpus.records import RECORDS
from fer.corpus.run import CorpusRun
from fer.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONWARNINGS": "ignore"}
CLIPS = ["a/b/two.avi", "a/one.mp4", "broken.mp4", "damaged.avi", "three.mp4"]

pytestmark = needs_media


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    return make_corpus(tmp_path_factory.mktemp("corpus") / "videos")


@pytest.fixture(scope="module")
def reference(corpus, tmp_path_factory) -> Path:
    """The whole corpus on one worker, in this process."""
    out = tmp_path_factory.mktemp("reference") / "out"
    run = CorpusRun()
    records = list(fer.analyze_corpus(corpus, out, workers=1, run=run))
    assert sorted(r.name for r in records) == CLIPS and run.summary == out / "summary.csv"
    return out


def analyze(*args: str, timeout: int = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "scripts/analyze.py", *args], cwd=ROOT, env=ENV, capture_output=True,
                          text=True, timeout=timeout)


def test_a_folder_is_listed_recursively_with_the_video_suffixes_and_shards_are_stable(corpus, tmp_path):
    assert [c.name for c in list_corpus(str(corpus))] == CLIPS
    listing = tmp_path / "clips.txt"
    listing.write_text(f"# two clips\n{corpus / 'a' / 'one.mp4'}\n\n{corpus / 'three.mp4'}\n")
    assert [c.name for c in list_corpus(str(listing))] == ["a/one.mp4", "three.mp4"]
    assert [c.name for c in list_corpus(f"{corpus}/**/*.avi")] == ["a/b/two.avi", "damaged.avi"]
    assert [shard_of(name, 4) for name in CLIPS] == [shard_of(name, 4) for name in sorted(CLIPS, reverse=True)][::-1]
    assert shard_of("a/one.mp4", 1000) == shard_of("a/one.mp4", 1000)  # a function of the name alone


def test_every_clip_has_its_csv_and_a_summary_row_failed_and_incomplete_included(reference):
    csvs = outputs(reference)
    assert sorted(csvs) == ["a/b/two.avi.csv", "a/one.mp4.csv", "damaged.avi.csv", "three.mp4.csv"]
    assert csvs["a/one.mp4.csv"].startswith(b"frame,time_s,track_id,x,y,width,height,label,confidence,angry")
    assert csvs["damaged.avi.csv"].startswith(b"# incomplete: damaged.avi announces 40 frames")
    rows = {row[0]: row for row in summary_without_times(reference)[1:]}
    assert list(rows) == CLIPS
    status = {name: row[1] for name, row in rows.items()}
    assert status == {"a/b/two.avi": "ok", "a/one.mp4": "ok", "broken.mp4": "failed", "damaged.avi": "incomplete",
                      "three.mp4": "ok"}
    assert "cannot open" in rows["broken.mp4"][2]
    header = summary_without_times(reference)[0]
    one = dict(zip(header, rows["a/one.mp4"], strict=True))
    assert one["frames_announced"] == one["frames_read"] == one["frames_analysed"] == "40"
    assert int(one["faces"]) >= 36 and one["tracks"] == "1"
    assert sum(float(one[f"share_{c}"]) for c in fer.CLASSES) == pytest.approx(1, abs=1e-4)
    provenance = (reference / "provenance.json").read_text()
    assert '"model_sha256"' in provenance and '"smoothing"' in provenance and '"ferkit_version"' in provenance


def test_two_workers_write_the_same_bytes_and_a_rerun_skips_all_but_the_failed_clip(corpus, reference, tmp_path):
    out = tmp_path / "out"
    records = list(fer.analyze_corpus(corpus, out, workers=2))
    assert sorted(r.name for r in records) == CLIPS
    assert outputs(out) == outputs(reference)
    assert summary_without_times(out) == summary_without_times(reference)
    run = CorpusRun()
    assert [r.name for r in fer.analyze_corpus(corpus, out, workers=2, run=run)] == ["broken.mp4"]  # tried again
    assert run.skipped == 4 and run.summary is not None


def test_a_changed_clip_is_redone_and_other_settings_are_refused(corpus, reference, tmp_path):
    import shutil

    videos, out = tmp_path / "videos", tmp_path / "out"
    shutil.copytree(corpus, videos)
    shutil.copytree(reference, out)
    os.utime(videos / "three.mp4", ns=(0, 10**18))  # same bytes, another mtime
    assert [r.name for r in fer.analyze_corpus(videos, out, workers=1)] == ["broken.mp4", "three.mp4"]
    assert outputs(out) == outputs(reference)
    with pytest.raises(ConfigError, match=r"smoothing.ema_alpha: 0.5 -> 0.3.*another folder"):
        list(fer.analyze_corpus(videos, out, settings={"smoothing": {"ema_alpha": 0.3}}))


def test_shards_share_the_corpus_without_overlap_and_the_last_writes_the_summary(corpus, reference, tmp_path):
    out, done = tmp_path / "out", []
    for shard in range(3):
        run = CorpusRun()
        done.append([r.name for r in fer.analyze_corpus(corpus, out, workers=1, num_shards=3, shard=shard, run=run)])
        assert (run.summary is None) == (shard < 2)
    assert sorted(sum(done, [])) == CLIPS  # each clip exactly once
    assert outputs(out) == outputs(reference)
    assert summary_without_times(out) == summary_without_times(reference)


def test_failed_clips_set_the_exit_code_without_a_traceback(corpus, reference, tmp_path):
    res = analyze(f"source={corpus}", f"output={tmp_path / 'out'}", "workers=2", f"hydra.run.dir={tmp_path / 'h'}")
    assert res.returncode == 1, res.stderr[-3000:]
    assert "Traceback" not in res.stdout + res.stderr
    assert "failed: broken.mp4: cannot open" in res.stdout + res.stderr
    assert outputs(tmp_path / "out") == outputs(reference)


@pytest.mark.parametrize("how", ["SIGTERM", "SIGKILL"])
def test_an_interrupted_run_leaves_no_partial_csv_and_a_rerun_finishes(corpus, reference, tmp_path, how):
    out = tmp_path / "out"
    args = (f"source={corpus}", f"output={out}", "workers=1" if how == "SIGTERM" else "workers=2",
            f"hydra.run.dir={tmp_path / 'h'}")
    proc = subprocess.Popen([sys.executable, "scripts/analyze.py", *args], cwd=ROOT, env=ENV,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not list((out / RECORDS).rglob("*.json")) and time.monotonic() < deadline:
        time.sleep(0.02)  # the first clip is done: the next ones are being written
    proc.send_signal(getattr(signal, how))
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode in ((128 + signal.SIGTERM,) if how == "SIGTERM" else (-signal.SIGKILL,)), stderr[-2000:]
    assert "Traceback" not in stderr
    time.sleep(0.5)  # a killed run's workers die with it
    interrupted = outputs(out)
    assert 1 <= len(interrupted) < 4
    assert all(interrupted[name] == outputs(reference)[name] for name in interrupted)  # whole, or absent
    if how == "SIGTERM":
        assert partials(out) == []
    res = analyze(*args)
    assert res.returncode == 1, res.stderr[-2000:]  # broken.mp4
    assert outputs(out) == outputs(reference) and partials(out) == []
    assert summary_without_times(out) == summary_without_times(reference)


def test_the_local_submitit_multirun_shards_the_corpus(corpus, reference, tmp_path):
    pytest.importorskip("hydra_plugins.hydra_submitit_launcher", reason='needs pip install -e ".[cluster]"')
    out = tmp_path / "out"
    res = analyze("-m", f"source={corpus}", f"output={out}", "hydra/launcher=local", "num_shards=2", "shard=range(2)",
                  "workers=1", f"hydra.sweep.dir={tmp_path / 'sweep'}", timeout=600)
    assert res.returncode == 0, res.stderr[-3000:]
    assert len(list((tmp_path / "sweep" / ".submitit").glob("*/*_result.pkl"))) == 2  # submitit ran both jobs
    logs = "".join(p.read_text() for p in (tmp_path / "sweep").glob("*/analyze.log"))
    assert sum(int(line.split("done before, ")[1].split()[0]) for line in logs.splitlines()
               if "analysed now" in line) == len(CLIPS)  # each clip done by one job only
    assert outputs(out) == outputs(reference)
    assert summary_without_times(out) == summary_without_times(reference)


def test_the_slurm_launcher_composes_for_a_corpus_without_gpus():
    pytest.importorskip("hydra_plugins.hydra_submitit_launcher", reason='needs pip install -e ".[cluster]"')
    from hydra import compose, initialize_config_dir
    from omegaconf import OmegaConf

    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
        cfg = compose("analyze", overrides=["source=videos/", "output=out/", "hydra/launcher=slurm", "num_shards=8",
                                            "hydra.launcher.partition=cpu"], return_hydra_config=True)
    assert OmegaConf.select(cfg, "hydra.launcher._target_").endswith("SlurmLauncher")
    assert OmegaConf.select(cfg, "hydra.launcher.gpus_per_node") == 0 and cfg.num_shards == 8


def test_a_full_disk_ends_the_run_in_one_line_leaving_whole_csvs_only(corpus, reference, tmp_path,
                                                                     small_disk):  # noqa: F811 - the fixture
    fill(small_disk, leave=12_000)  # room for a clip or two, not for the corpus
    out = small_disk / "out"
    res = analyze(f"source={corpus}", f"output={out}", "workers=1", f"hydra.run.dir={tmp_path / 'h'}")
    assert res.returncode == 2, res.stderr[-2000:]
    assert "Traceback" not in res.stdout + res.stderr
    assert res.stderr.strip().splitlines()[-1].startswith("error: no space left on the disk holding")
    written = outputs(out) if out.is_dir() else {}
    assert all(written[name] == outputs(reference)[name] for name in written) and partials(small_disk) == []


def test_the_corpus_bench_runs_on_a_tiny_corpus():
    res = subprocess.run([sys.executable, "-m", "bench.corpus", "--tiny", "--out", "-", "--peer-python", "/nonexistent"],
                         cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr[-3000:]
    table = [line for line in res.stdout.splitlines() if line.startswith("| every frame") or
             line.startswith("| sample_fps=5")]
    assert len(table) == 4 and "skipped all 3 clips" in res.stdout


def test_a_worker_that_dies_fails_only_the_clips_in_flight_and_the_run_goes_on(corpus, reference, tmp_path):
    import multiprocessing

    out, run = tmp_path / "out", CorpusRun()
    records = fer.analyze_corpus(corpus, out, workers=2, run=run)
    first = next(records)
    victim = multiprocessing.active_children()[0]  # a worker of the pool, as an out-of-memory kill would
    os.kill(victim.pid, signal.SIGKILL)
    rest = list(records)
    assert sorted(r.name for r in [first, *rest]) == CLIPS and run.summary is not None
    died = [r.name for r in rest if "worker process died" in r.reason]
    assert all(outputs(out)[name] == outputs(reference)[name] for name in outputs(out))
    assert sorted(r.name for r in fer.analyze_corpus(corpus, out, workers=2)) == sorted({"broken.mp4", *died})
    assert outputs(out) == outputs(reference)

"""A corpus run from start to end: list the clips, take this shard's, claim OUT for these settings, skip
the clips already done, analyse the rest on the workers under one progress bar, and rebuild the summary
once every clip of the corpus has its record."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fer.api.recognizer import Recognizer
from fer.corpus import provenance
from fer.corpus.listing import Clip, list_corpus, shard_of
from fer.corpus.records import ClipRecord, is_done
from fer.corpus.summary import current_records, write_summary
from fer.corpus.workers import CorpusJob, run_clips
from fer.errors import ConfigError
from fer.inference.sources import kept_count
from fer.numbers import positive_number, whole_number
from fer.outputs import check_outputs, ensure_writable_folder
from fer.progress import progress


def default_workers() -> int:
    """One per core this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


@dataclass
class CorpusRun:
    """What `analyze_corpus` did, filled in as it goes (`summary` is None until every clip is recorded)."""
    clips: int = 0  # in the whole corpus
    in_shard: int = 0
    skipped: int = 0  # already done by an earlier run
    records: list[ClipRecord] = field(default_factory=list)  # the clips analysed by this run
    summary: Path | None = None
    waiting: int = 0  # clips of the corpus still without a record (other shards at work)

    @property
    def failed(self) -> list[ClipRecord]:
        return [r for r in self.records if r.status == "failed"]


def check_corpus_settings(workers: Any, num_shards: Any, shard: Any, sample_fps: Any,
                          max_frames: Any) -> tuple[int, int, int]:
    workers = whole_number(workers, "workers", 1, allow_none=True) or default_workers()
    num_shards = whole_number(num_shards, "num_shards", 1)
    shard = whole_number(shard, "shard", 0)
    if shard >= num_shards:
        raise ConfigError(f"shard={shard} must be below num_shards={num_shards} (shards count from 0)")
    if sample_fps is not None:
        positive_number(sample_fps, "sample_fps")
    whole_number(max_frames, "max_frames", 1, allow_none=True)
    return workers, num_shards, shard


def analyze_corpus(source: str | Path, output: str | Path, settings: dict[str, Any] | None = None,
                   workers: int | None = None, sample_fps: float | None = None, max_frames: int | None = None,
                   num_shards: int = 1, shard: int = 0, progress_bar: bool | None = None,
                   run: CorpusRun | None = None) -> Iterator[ClipRecord]:
    """Analyse every video of `source` (a folder, searched recursively; a .txt list of paths; a glob) into
    `output`, yielding each clip's record as it is done. Clips done by an earlier run with the same model
    and settings are skipped (not yielded). `settings`: the live pipeline's, nested like conf/webcam.yaml.

        for record in fer.analyze_corpus("videos/", "out/", workers=2):
            print(record.name, record.status, record.faces)
    """
    run = run if run is not None else CorpusRun()
    workers, num_shards, shard = check_corpus_settings(workers, num_shards, shard, sample_fps, max_frames)
    out = Path(output).expanduser()
    clips = list_corpus(str(source))
    check_outputs([("output", out)], [("source", c.path) for c in clips])
    ensure_writable_folder(out)
    recognizer = Recognizer(settings=settings)
    model = recognizer.model_info
    results = provenance.results_settings(recognizer.settings, model, sample_fps, max_frames)
    fingerprint = provenance.fingerprint(results)
    provenance.claim(out, provenance.provenance(results, model, {
        "source": str(source), "workers": workers, "num_shards": num_shards, "threads": recognizer.settings["threads"],
        "classifier_threads": recognizer.settings["classifier"]["threads"], "prefetch": recognizer.settings["prefetch"]}))
    mine = [c for c in clips if num_shards == 1 or shard_of(c.name, num_shards) == shard]
    todo = [c for c in mine if is_done(out, c, fingerprint) is None]
    run.clips, run.in_shard, run.skipped = len(clips), len(mine), len(mine) - len(todo)
    job = CorpusJob(out, fingerprint, sample_fps, max_frames)
    total = expected_frames(todo, sample_fps, max_frames)
    with progress(total=total, enabled=progress_bar, unit="frame", unit_scale=True, desc="corpus") as bar:
        bar.set_postfix_str(f"clips 0/{len(todo)}")
        for record in run_clips(todo, job, recognizer, recognizer.settings, workers, bar.update):
            run.records.append(record)
            bar.set_postfix_str(f"clips {len(run.records)}/{len(todo)}, failed {len(run.failed)}")
            yield record
    records, missing = current_records(out, clips, fingerprint)
    run.waiting = len(missing)
    if not missing:
        run.summary = write_summary(out, records, recognizer.class_names)


def expected_frames(clips: list[Clip], sample_fps: float | None, max_frames: int | None) -> int | None:
    """The frames the clips announce, for the bar's time left (None when any clip does not say)."""
    import cv2

    total = 0
    for clip in clips:
        capture = cv2.VideoCapture(str(clip.path))
        try:
            frames, fps = int(capture.get(cv2.CAP_PROP_FRAME_COUNT) or 0), capture.get(cv2.CAP_PROP_FPS) or 0
        finally:
            capture.release()
        if frames <= 0:
            continue  # unreadable: it fails at once and costs no time
        frames = kept_count(frames, fps, sample_fps)
        total += frames if max_frames is None else min(frames, max_frames)
    return total or None

"""Clips on `workers` processes, each with its own model and one thread, or in this process (workers=1).

Workers are spawned (a fresh interpreter: nothing of this process's threads is inherited) and ignore
Ctrl-C, which a terminal sends to every process of the run: the parent stops them itself. A stop (a
signal, an error) terminates the workers; their clips' partial CSVs are removed, and no clip's final
name ever holds a partial file (a worker killed outright leaves only its hidden partial file, which
the next run overwrites). A worker that dies (a crash in a decoder, out of memory) takes the pool with it:
the clips then in flight are `failed` (the next run tries them again) and a new pool does the rest.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import multiprocessing
import queue
import signal
import sys
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fer.api.recognizer import Recognizer
from fer.corpus.clip import analyze_clip
from fer.corpus.listing import Clip
from fer.corpus.records import ClipRecord, csv_name, source_stamp, write_record
from fer.outputs import partial_path
from fer.signals import raise_if_stopped

log = logging.getLogger(__name__)
POLL_S = 0.2  # how often the parent looks at the workers' progress and at stop signals
PR_SET_PDEATHSIG = 1  # prctl(2)


@dataclass(frozen=True)
class CorpusJob:
    out: Path
    fingerprint: str
    sample_fps: float | None
    max_frames: int | None


def one_thread(settings: dict[str, Any]) -> dict[str, Any]:
    """A worker's settings: OpenCV and the classifier on one thread each (the results do not change)."""
    return {**settings, "threads": 1, "classifier": {**settings["classifier"], "threads": 1}}


_worker: dict[str, Any] = {}  # in each worker process: its recognizer, job and report queue


def die_with_parent() -> None:
    """Linux: a worker is killed when the run's process dies (kill -9), rather than finishing its clip while
    a rerun redoes the same one."""
    with suppress(OSError, AttributeError):
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def start_worker(settings: dict[str, Any], job: CorpusJob, reports: Any) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if sys.platform.startswith("linux"):
        die_with_parent()
    _worker.update(recognizer=Recognizer(settings=settings), job=job, reports=reports)


def work(clip: Clip) -> ClipRecord:
    job: CorpusJob = _worker["job"]
    return analyze_clip(_worker["recognizer"], clip, job.out, job.fingerprint, job.sample_fps, job.max_frames,
                        report=_worker["reports"].put)


def run_clips(clips: list[Clip], job: CorpusJob, recognizer: Recognizer, settings: dict[str, Any], workers: int,
              on_frames: Callable[[int], object]) -> Iterator[ClipRecord]:
    """Each clip's record as it is done (in the order they finish)."""
    if workers <= 1 or len(clips) <= 1:
        for clip in clips:
            raise_if_stopped()
            yield analyze_clip(recognizer, clip, job.out, job.fingerprint, job.sample_fps, job.max_frames,
                               report=on_frames)
        return
    yield from Pool(min(workers, len(clips)), one_thread(settings), job, on_frames).run(clips)


class Pool:
    def __init__(self, workers: int, settings: dict[str, Any], job: CorpusJob, on_frames: Callable[[int], object]):
        self.workers, self.settings, self.job, self.on_frames = workers, settings, job, on_frames
        self.context = multiprocessing.get_context("spawn")
        self.reports = self.context.Queue()
        self.running: dict[Future, Clip] = {}

    def start(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(self.workers, mp_context=self.context, initializer=start_worker,
                                   initargs=(self.settings, self.job, self.reports))

    def run(self, clips: list[Clip]) -> Iterator[ClipRecord]:
        todo = deque(clips)
        executor = self.start()
        finished = False
        try:
            while todo or self.running:
                while todo and len(self.running) < self.workers:  # in flight: one clip per worker
                    clip = todo.popleft()
                    try:
                        self.running[executor.submit(work, clip)] = clip
                    except BrokenProcessPool:  # a worker died between two clips
                        todo.appendleft(clip)
                        executor.shutdown(wait=True)
                        executor = self.start()
                done, _ = wait(self.running, timeout=POLL_S, return_when=FIRST_COMPLETED)
                self.drain()
                raise_if_stopped()
                broken = False
                for future in done:
                    clip = self.running.pop(future)
                    try:
                        record = future.result()
                    except BrokenProcessPool:
                        broken, record = True, self.died(clip)
                    yield record
                if broken:  # a worker died and the pool with it: its other clips too; a new pool does the rest
                    for future in list(self.running):
                        yield self.died(self.running.pop(future))
                    executor.shutdown(wait=True)
                    executor = self.start()
            finished = True
        finally:
            if finished:
                executor.shutdown(wait=True)
            else:
                self.stop(executor)
            self.drain()

    def died(self, clip: Clip) -> ClipRecord:
        record = ClipRecord(clip.name, "failed", "the worker process died while analysing it (a crash in the "
                            "video decoder, or out of memory)", fingerprint=self.job.fingerprint)
        with suppress(OSError):
            record.source_size, record.source_mtime_ns = source_stamp(clip.path)
        log.warning("%s failed: %s", clip.name, record.reason)
        partial_path(self.job.out / csv_name(clip)).unlink(missing_ok=True)
        write_record(self.job.out, record)
        return record

    def drain(self) -> None:
        with suppress(queue.Empty, OSError, ValueError):
            while True:
                self.on_frames(self.reports.get_nowait())

    def stop(self, executor: ProcessPoolExecutor) -> None:
        """Terminate the workers and remove the partial CSVs of the clips they were on."""
        processes = list(getattr(executor, "_processes", {}).values())
        executor.shutdown(wait=False, cancel_futures=True)
        for process in processes:
            with suppress(OSError, AttributeError):
                process.terminate()
        for process in processes:
            process.join(5)
        for clip in self.running.values():
            partial_path(self.job.out / csv_name(clip)).unlink(missing_ok=True)
        self.running.clear()

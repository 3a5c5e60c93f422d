"""A video's analysis written as its frames come: the CSV grows row by row under a partial name and is
renamed into place only when whole (fer.outputs), and the timeline keeps only what it draws, so memory
stays flat however long the video. An interrupted or failed run (Ctrl-C, a signal, a full disk, a damaged
video) leaves any earlier file of the same name as it was."""

from __future__ import annotations

import os
import shutil
from collections import Counter
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path
from types import TracebackType

from fer.api.rows import (
    CSV_SUFFIXES,
    PLOT_SUFFIXES,
    AnalyzedFrame,
    incomplete_note,
    note_line,
    write_header,
    write_rows,
)
from fer.api.timeline import Timeline
from fer.outputs import PendingFile, check_destination, output_error


class AnalysisWriter:
    """`with AnalysisWriter(csv, classes, source, fps, plot) as w: w.add(frame) ...; w.finish(...)`.

    Leaving the block without `finish` (an exception, Ctrl-C) removes the partial CSV; nothing is plotted.
    The counters (frames, faces, tracks, labels) describe what was written."""

    def __init__(self, csv_path: str | Path, class_names: list[str], source: str, fps: float,
                 plot_path: str | Path | None = None, min_frames: int = 5, max_panels: int = 8):
        self.csv_path = check_destination(csv_path, "csv", CSV_SUFFIXES)
        self.plot_path = check_destination(plot_path, "plot", PLOT_SUFFIXES) if plot_path is not None else None
        self.class_names, self.source, self.fps = list(class_names), source, fps
        self.plot_args = {"min_frames": min_frames, "max_panels": max_panels}
        self.timeline = Timeline(self.class_names) if self.plot_path is not None else None
        self.frames = self.faces = 0
        self.last_index = -1
        self.track_ids: set[int] = set()
        self.labels: Counter[str] = Counter()
        self.table = PendingFile(self.csv_path)
        self.stream = self.table.open("w", newline="")
        self._write(lambda: write_header(self.stream, self.class_names))

    def __enter__(self) -> AnalysisWriter:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        if kind is not None:
            self.abandon()

    def _write(self, write: Callable[[], object]) -> None:
        try:
            write()
        except OSError as e:
            raise output_error(e, self.csv_path) from None

    def add(self, frame: AnalyzedFrame) -> None:
        self._write(lambda: write_rows(self.stream, frame, self.class_names))
        self.frames += 1
        self.faces += len(frame.faces)
        self.last_index = frame.index
        self.track_ids.update(f.track_id for f in frame.faces)
        self.labels.update(f.label for f in frame.faces)
        if self.timeline is not None:
            self.timeline.add(frame)

    @property
    def duration_s(self) -> float:
        return (self.last_index + 1) / self.fps if self.fps else 0.0

    def finish(self, frames_announced: int | None, frames_read: int, incomplete: bool) -> None:
        """Close the CSV (an incomplete video's note goes first), draw the plot, then put both in place:
        when either cannot be written whole, neither replaces an earlier file of its name."""
        self.table.close_file(self.stream)  # flushed and fsync'ed: a full disk shows here, before the plot
        try:
            if incomplete:
                self._prepend_note(incomplete_note(self.source, frames_announced, frames_read))
            self.table.seal()
            if self.timeline is not None and self.plot_path is not None:  # a timeline is kept for a plot only
                self.timeline.plot(self.plot_path, self.source, self.duration_s, **self.plot_args)
        except BaseException:
            self.table.discard()
            raise
        self.table.commit()

    def _prepend_note(self, note: str) -> None:
        """Rare (a damaged video), known only at the end: the rows are copied after the note, in chunks."""
        if self.table.direct:  # a pipe or /dev/null cannot be rewritten: the note goes last
            with self.table.path.open("a") as f:
                f.write(note_line(note))
            return
        noted = self.table.path.with_name(self.table.path.name + ".note")
        try:
            with noted.open("w", newline="") as out, self.table.path.open(newline="") as rows:
                out.write(note_line(note))
                shutil.copyfileobj(rows, out)
                out.flush()
                os.fsync(out.fileno())
            os.replace(noted, self.table.path)
        except OSError as e:
            with suppress(OSError):
                noted.unlink(missing_ok=True)
            raise output_error(e, self.csv_path) from None

    def abandon(self) -> None:
        with suppress(OSError):
            self.stream.close()
        self.table.discard()

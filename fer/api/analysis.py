"""A video's per-frame, per-face predictions: rows for a CSV, JSON for the service, a timeline plot."""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Iterator
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from fer.api.faces import Face
from fer.outputs import PendingFile, atomic_open, check_destination, output_error

log = logging.getLogger(__name__)

CSV_SUFFIXES = (".csv",)
PLOT_SUFFIXES = (".png", ".pdf", ".svg", ".jpg", ".jpeg")  # formats matplotlib writes from the suffix
ROW_FIELDS = ("frame", "time_s", "track_id", "x", "y", "width", "height", "label", "confidence")


@dataclass(frozen=True)
class AnalyzedFrame:
    index: int
    time_s: float
    faces: list[Face]


@dataclass
class Analysis:
    source: str
    fps: float
    width: int
    height: int
    class_names: list[str]
    frames: list[AnalyzedFrame] = field(default_factory=list)
    truncated: bool = False  # stopped at max_frames before the video ended
    frames_announced: int | None = None  # the frame count the video's container announces (None: unknown)
    incomplete: bool = False  # the video ended before the announced frames were read (damaged or cut short)

    def note_source_end(self, source: Any) -> None:
        """Take the announced frame count from the video source once it is read; warn when it fell short."""
        self.frames_announced = getattr(source, "frames_announced", None)
        self.incomplete = bool(getattr(source, "incomplete", False))
        if self.incomplete:
            log.warning("%s", self.incomplete_note)

    @property
    def incomplete_note(self) -> str:
        return (f"{Path(self.source).name} announces {self.frames_announced} frames but only "
                f"{len(self.frames)} could be read (damaged or cut short): "
                "the analysis covers the frames read")

    @property
    def track_ids(self) -> list[int]:
        return sorted({f.track_id for fr in self.frames for f in fr.faces})

    def records(self) -> Iterator[dict[str, Any]]:
        """One flat row per frame and tracked face (pandas.DataFrame(analysis.records()) if you like)."""
        for fr in self.frames:
            for face in fr.faces:
                x, y, w, h = face.box
                row = {"frame": fr.index, "time_s": round(fr.time_s, 4), "track_id": face.track_id,
                       "x": x, "y": y, "width": w, "height": h, "label": face.label,
                       "confidence": round(face.confidence, 5)}
                row.update({c: round(face.probabilities[c], 5) for c in self.class_names})
                yield row

    @property
    def columns(self) -> list[str]:
        return [*ROW_FIELDS, *self.class_names]

    def write_csv(self, stream: IO[str]) -> None:
        """The rows under a header line. An incomplete video (fewer frames read than announced) puts one
        `# incomplete: ...` line first, so a reader that ignores it fails loudly instead of taking a
        partial analysis for a whole one; pandas reads it with `read_csv(path, comment="#")`."""
        if self.incomplete:
            stream.write(f"# incomplete: {self.incomplete_note}\n")
        writer = csv.DictWriter(stream, fieldnames=self.columns)
        writer.writeheader()
        writer.writerows(self.records())

    def to_csv(self, path: str | Path | None = None) -> str | None:
        """Write the rows to `path` (whole or not at all, see fer.outputs); with no path, return the CSV text."""
        if path is None:
            buf = io.StringIO()
            self.write_csv(buf)
            return buf.getvalue()
        path = check_destination(path, "csv", CSV_SUFFIXES)
        with atomic_open(path, "w", newline="") as f:
            self.write_csv(f)
        return None

    def save(self, csv_path: str | Path, plot_path: str | Path | None, min_frames: int = 5,
             max_panels: int = 8) -> None:
        """Write the CSV and the timeline (None: no plot) together: when either cannot be written whole (a
        full disk), neither replaces an earlier file of its name."""
        csv_path = check_destination(csv_path, "csv", CSV_SUFFIXES)
        if plot_path is not None:
            plot_path = check_destination(plot_path, "plot", PLOT_SUFFIXES)
        table = PendingFile(csv_path)
        stream = table.open("w", newline="")
        try:
            try:
                self.write_csv(stream)
            except OSError as e:
                raise output_error(e, csv_path) from None
            table.close_file(stream)  # flushed and fsync'ed: a full disk shows here, before the plot is kept
            table.seal()
            if plot_path is not None:
                self.plot_timeline(plot_path, min_frames=min_frames, max_panels=max_panels)
        except BaseException:
            with suppress(OSError):
                stream.close()
            table.discard()
            raise
        table.commit()

    def to_dict(self, crops: bool = False) -> dict[str, Any]:
        return {
            "source": self.source, "fps": round(self.fps, 4), "width": self.width, "height": self.height,
            "classes": self.class_names, "frame_count": len(self.frames), "truncated": self.truncated,
            "frames_announced": self.frames_announced, "incomplete": self.incomplete,
            "tracks": self.track_ids,
            "frames": [{"frame": fr.index, "time_s": round(fr.time_s, 4),
                        "faces": [f.to_dict(crop=crops) for f in fr.faces]} for fr in self.frames],
        }

    def plot_timeline(self, path: str | Path, min_frames: int = 5, max_panels: int = 8) -> Path:
        """PNG: the probability of each class over time, one panel per tracked face.

        Tracks seen on fewer than `min_frames` frames (brief false detections) are left out, and at most
        `max_panels` of the longest tracks are drawn.
        """
        from fer.api.timeline import plot_timeline

        path = check_destination(path, "plot", PLOT_SUFFIXES)
        return plot_timeline(self, path, min_frames=min_frames, max_panels=max_panels)

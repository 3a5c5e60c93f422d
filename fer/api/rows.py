"""The rows of a video's analysis, one per frame and tracked face: their columns, rounding and CSV lines.

`Analysis` (every frame in memory) and `AnalysisWriter` (rows written as the frames come) write them here,
so the two give the same bytes.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from fer.api.faces import Face

CSV_SUFFIXES = (".csv",)
PLOT_SUFFIXES = (".png", ".pdf", ".svg", ".jpg", ".jpeg")  # formats matplotlib writes from the suffix
ROW_FIELDS = ("frame", "time_s", "track_id", "x", "y", "width", "height", "label", "confidence")


@dataclass(frozen=True)
class AnalyzedFrame:
    index: int  # the frame's number in the video (with sample_fps, only the kept frames come)
    time_s: float
    faces: list[Face]


def columns(class_names: Iterable[str]) -> list[str]:
    return [*ROW_FIELDS, *class_names]


def frame_rows(frame: AnalyzedFrame, class_names: Iterable[str]) -> Iterator[dict[str, Any]]:
    """One flat row per tracked face of the frame, rounded as written."""
    for face in frame.faces:
        x, y, w, h = face.box
        row = {"frame": frame.index, "time_s": round(frame.time_s, 4), "track_id": face.track_id,
               "x": x, "y": y, "width": w, "height": h, "label": face.label,
               "confidence": round(face.confidence, 5)}
        row.update({c: round(face.probabilities[c], 5) for c in class_names})
        yield row


def incomplete_note(source: str, announced: int | None, read: int) -> str:
    return (f"{Path(source).name} announces {announced} frames but only {read} could be read "
            "(damaged or cut short): the analysis covers the frames read")


def note_line(note: str) -> str:
    return f"# incomplete: {note}\n"


def write_header(stream: IO[str], class_names: Iterable[str], note: str | None = None) -> None:
    """The header line; an incomplete video's `# incomplete: ...` note goes first, so a reader that ignores
    it fails loudly instead of taking a partial analysis for a whole one (pandas: `read_csv(path,
    comment="#")`)."""
    if note:
        stream.write(note_line(note))
    csv.writer(stream).writerow(columns(class_names))


def write_rows(stream: IO[str], frame: AnalyzedFrame, class_names: list[str]) -> int:
    """The frame's rows; returns how many."""
    writer = csv.writer(stream)
    rows = [list(row.values()) for row in frame_rows(frame, class_names)]
    writer.writerows(rows)
    return len(rows)

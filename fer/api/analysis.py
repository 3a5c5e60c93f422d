"""A video's per-frame, per-face predictions: rows for a CSV, JSON for the service, a timeline plot."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from fer.api.faces import Face
from fer.errors import OutputError

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
        writer = csv.DictWriter(stream, fieldnames=self.columns)
        writer.writeheader()
        writer.writerows(self.records())

    def to_csv(self, path: str | Path | None = None) -> str | None:
        """Write the rows to `path`; with no path, return the CSV text."""
        if path is None:
            buf = io.StringIO()
            self.write_csv(buf)
            return buf.getvalue()
        path = Path(path)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("w", newline="") as f:
                self.write_csv(f)
        except OSError as e:
            raise OutputError(f"cannot write {path}: {e.strerror or e}") from e
        return None

    def to_dict(self, crops: bool = False) -> dict[str, Any]:
        return {
            "source": self.source, "fps": round(self.fps, 4), "width": self.width, "height": self.height,
            "classes": self.class_names, "frame_count": len(self.frames), "truncated": self.truncated,
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

        return plot_timeline(self, Path(path), min_frames=min_frames, max_panels=max_panels)

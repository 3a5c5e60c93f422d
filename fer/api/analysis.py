"""A video's per-frame, per-face predictions: rows for a CSV, JSON for the service, a timeline plot.

`Analysis` holds every frame in memory (the service's answer, a short clip in a notebook);
`fer.api.analysis_writer.AnalysisWriter` writes the same rows as the frames come, for videos of any length.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from fer.api.analysis_writer import AnalysisWriter
from fer.api.rows import (  # noqa: F401 - AnalyzedFrame and the suffixes are part of this API
    CSV_SUFFIXES,
    PLOT_SUFFIXES,
    AnalyzedFrame,
    columns,
    frame_rows,
    incomplete_note,
    write_header,
    write_rows,
)
from fer.errors import MissingExtraError
from fer.outputs import check_destination

if TYPE_CHECKING:
    import pandas as pd

log = logging.getLogger(__name__)


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

    @classmethod
    def collect(cls, run: Any, class_names: list[str], on_frame: Callable[[int], None] | None = None) -> Analysis:
        """Every frame of a VideoRun (Recognizer.analyze_frames), kept; on_frame(index) hears of each."""
        analysis = cls(str(run.path), run.fps, 0, 0, list(class_names))
        for frame in run:
            if on_frame is not None:
                on_frame(frame.index)
            analysis.frames.append(frame)
        analysis.width, analysis.height = run.width, run.height
        analysis.truncated, analysis.frames_announced, analysis.incomplete = \
            run.truncated, run.frames_announced, run.incomplete
        return analysis

    @property
    def incomplete_note(self) -> str:
        return incomplete_note(self.source, self.frames_announced, len(self.frames))

    @property
    def track_ids(self) -> list[int]:
        return sorted({f.track_id for fr in self.frames for f in fr.faces})

    @property
    def duration_s(self) -> float:
        """Seconds of video the analysis covers (to the end of its last frame)."""
        return (self.frames[-1].index + 1) / self.fps if self.frames and self.fps else 0.0

    def records(self) -> Iterator[dict[str, Any]]:
        """One flat row per frame and tracked face."""
        for fr in self.frames:
            yield from frame_rows(fr, self.class_names)

    @property
    def columns(self) -> list[str]:
        return columns(self.class_names)

    def to_dataframe(self) -> pd.DataFrame:
        """The rows as a pandas DataFrame, columns in the CSV's order (pandas is not a dependency of ferkit)."""
        try:
            import pandas as pd
        except ImportError:
            raise MissingExtraError("Analysis.to_dataframe needs pandas: pip install pandas "
                                    "(or read the rows as dicts with Analysis.records())") from None
        return pd.DataFrame(list(self.records()), columns=self.columns)

    def write_csv(self, stream: IO[str]) -> None:
        """The rows under a header line, as AnalysisWriter writes them (an incomplete video's note first)."""
        write_header(stream, self.class_names, self.incomplete_note if self.incomplete else None)
        for fr in self.frames:
            write_rows(stream, fr, self.class_names)

    def to_csv(self, path: str | Path | None = None) -> str | None:
        """Write the rows to `path` (whole or not at all, see fer.outputs); with no path, return the CSV text."""
        if path is None:
            buf = io.StringIO()
            self.write_csv(buf)
            return buf.getvalue()
        self.save(path, None)
        return None

    def save(self, csv_path: str | Path, plot_path: str | Path | None, min_frames: int = 5,
             max_panels: int = 8) -> None:
        """Write the CSV and the timeline (None: no plot) together: when either cannot be written whole (a
        full disk), neither replaces an earlier file of its name."""
        writer = AnalysisWriter(csv_path, self.class_names, self.source, self.fps, plot_path,
                                min_frames=min_frames, max_panels=max_panels)
        with writer:
            for fr in self.frames:
                writer.add(fr)
            writer.finish(self.frames_announced, len(self.frames), self.incomplete)

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
        from fer.api.timeline import Timeline

        path = check_destination(path, "plot", PLOT_SUFFIXES)
        timeline = Timeline(self.class_names)
        for fr in self.frames:
            timeline.add(fr)
        return timeline.plot(path, self.source, self.duration_s, min_frames=min_frames, max_panels=max_panels)

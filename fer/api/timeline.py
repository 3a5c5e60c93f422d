"""The timeline figure of a video's analysis: one panel per tracked face, one line per class.

`Timeline` keeps only what the figure draws (each track's times and probabilities, packed as floats), so
`AnalysisWriter` can feed it frame by frame without holding the frames.
"""

from __future__ import annotations

from array import array
from pathlib import Path
from typing import Any

from fer.errors import require_extra
from fer.outputs import save_atomically


class Timeline:
    def __init__(self, class_names: list[str]):
        self.class_names = list(class_names)
        self.series: dict[int, array[float]] = {}  # track id -> time, then one probability per class, per frame

    def add(self, frame: Any) -> None:
        """An AnalyzedFrame (anything with time_s and faces)."""
        for face in frame.faces:
            values = self.series.setdefault(face.track_id, array("f"))
            values.append(frame.time_s)
            values.extend(face.probabilities[c] for c in self.class_names)

    def frames_of(self, track: int) -> int:
        return len(self.series[track]) // (1 + len(self.class_names))

    def plot(self, path: Path, source: str, duration_s: float, min_frames: int = 5, max_panels: int = 8) -> Path:
        """Tracks seen on fewer than `min_frames` frames (brief false detections) are left out, and at most
        `max_panels` of the longest tracks are drawn."""
        matplotlib = require_extra("matplotlib", "the timeline plot", what="matplotlib", extra="plot")
        matplotlib.use("Agg")  # files only; never a window
        import matplotlib.pyplot as plt

        width = 1 + len(self.class_names)
        kept = sorted((t for t in self.series if self.frames_of(t) >= min_frames),
                      key=lambda t: -self.frames_of(t))[:max_panels]
        kept.sort()
        n = max(1, len(kept))
        fig, axes = plt.subplots(n, 1, figsize=(10, 2.4 * n + 0.6), sharex=True, squeeze=False)
        palette = plt.get_cmap("tab10")  # a qualitative map: palette.N distinct colours
        colors = [palette(i) for i in range(palette.N)]
        panels: list[int | None] = [*kept] if kept else [None]  # None: the panel saying no face was tracked
        for ax, track in zip(axes[:, 0], panels, strict=True):
            if track is None:
                ax.text(0.5, 0.5, "no face was tracked", ha="center", va="center", transform=ax.transAxes)
            else:
                values = self.series[track]
                times = values[0::width]
                for i, c in enumerate(self.class_names):
                    ax.plot(times, values[i + 1::width], color=colors[i % len(colors)], label=c, lw=1.4)
                ax.set_title(f"face {track} ({len(times)} frames)", loc="left", fontsize=10)
            ax.set_ylim(0, 1)
            ax.set_xlim(0, max(duration_s, 1e-3))
            ax.set_ylabel("probability")
            ax.grid(alpha=0.3)
        axes[-1, 0].set_xlabel("time (s)")
        handles, labels = axes[0, 0].get_legend_handles_labels()
        if handles:
            fig.legend(handles, labels, loc="upper center", ncol=len(labels), frameon=False, fontsize=9)
        fig.suptitle(Path(source).name, y=0.995, fontsize=10, x=0.01, ha="left")
        fig.tight_layout(rect=(0, 0, 1, 0.96))
        try:
            # Saved under the final suffix (matplotlib picks the format by it) and renamed into place.
            save_atomically(path, lambda partial: fig.savefig(partial, dpi=110,
                                                              format=path.suffix.lstrip(".") or None))
        finally:
            plt.close(fig)
        return path

"""The timeline figure of an Analysis: one panel per tracked face, one line per class.

It reads only `frames`, `fps` and `class_names`, so it does not import the Analysis type (which imports it).
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

from fer.errors import require_extra
from fer.outputs import save_atomically


def plot_timeline(analysis: Any, path: Path, min_frames: int = 5, max_panels: int = 8) -> Path:
    matplotlib = require_extra("matplotlib", "the timeline plot", what="matplotlib", extra="plot")
    matplotlib.use("Agg")  # files only; never a window
    import matplotlib.pyplot as plt

    series: dict[int, list[tuple[float, dict[str, float]]]] = defaultdict(list)
    for fr in analysis.frames:
        for face in fr.faces:
            series[face.track_id].append((fr.time_s, face.probabilities))
    kept = sorted((t for t in series if len(series[t]) >= min_frames), key=lambda t: -len(series[t]))[:max_panels]
    kept.sort()
    duration = len(analysis.frames) / analysis.fps if analysis.fps else 0.0
    n = max(1, len(kept))
    fig, axes = plt.subplots(n, 1, figsize=(10, 2.4 * n + 0.6), sharex=True, squeeze=False)
    colors = plt.get_cmap("tab10").colors
    for ax, track in zip(axes[:, 0], kept or [None], strict=True):
        if track is None:
            ax.text(0.5, 0.5, "no face was tracked", ha="center", va="center", transform=ax.transAxes)
        else:
            times = [t for t, _ in series[track]]
            for i, c in enumerate(analysis.class_names):
                ax.plot(times, [p[c] for _, p in series[track]], color=colors[i % len(colors)], label=c, lw=1.4)
            ax.set_title(f"face {track} ({len(times)} frames)", loc="left", fontsize=10)
        ax.set_ylim(0, 1)
        ax.set_xlim(0, max(duration, 1e-3))
        ax.set_ylabel("probability")
        ax.grid(alpha=0.3)
    axes[-1, 0].set_xlabel("time (s)")
    handles, labels = axes[0, 0].get_legend_handles_labels()
    if handles:
        fig.legend(handles, labels, loc="upper center", ncol=len(labels), frameon=False, fontsize=9)
    fig.suptitle(Path(analysis.source).name, y=0.995, fontsize=10, x=0.01, ha="left")
    fig.tight_layout(rect=(0, 0, 1, 0.96))
    try:
        # Saved under the final suffix (matplotlib picks the format by it) and renamed into place.
        save_atomically(path, lambda partial: fig.savefig(partial, dpi=110, format=path.suffix.lstrip(".") or None))
    finally:
        plt.close(fig)
    return path

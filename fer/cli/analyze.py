"""scripts/analyze.py: a video -> CSV of per-frame, per-face probabilities and a timeline PNG."""

from __future__ import annotations

import logging
from collections import Counter
from pathlib import Path
from typing import Any

from fer.api.recognizer import Recognizer

log = logging.getLogger(__name__)


def analyze_video(cfg: dict[str, Any], run_dir: Path) -> tuple[Path, Path]:
    """Returns (csv path, plot path)."""
    analysis = Recognizer.from_config(cfg).analyze(cfg["source"], max_frames=cfg.get("max_frames"))
    csv_path = Path(cfg.get("csv") or run_dir / "analysis.csv")
    plot_path = Path(cfg.get("plot") or run_dir / "timeline.png")
    analysis.to_csv(csv_path)
    timeline = cfg.get("timeline") or {}
    analysis.plot_timeline(plot_path, **timeline)
    labels = Counter(f.label for fr in analysis.frames for f in fr.faces)
    with_faces = sum(bool(fr.faces) for fr in analysis.frames)
    log.info("%d frames (%d with a face), %d tracks; labels: %s", len(analysis.frames), with_faces,
             len(analysis.track_ids), dict(labels.most_common()) or "none")
    log.info("wrote %s and %s", csv_path, plot_path)
    return csv_path, plot_path

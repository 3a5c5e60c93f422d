"""`ferkit analyze` (scripts/analyze.py): a video -> CSV of per-frame, per-face probabilities and a timeline PNG.

    ferkit analyze source=clip.mp4 csv=out.csv plot=timeline.png
    ferkit analyze source=clip.mp4 ckpt=PATH smoothing.ema_alpha=0.3   # any `ferkit webcam` override
"""

from __future__ import annotations

import importlib.util
import logging
from collections import Counter
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from fer.api.analysis import CSV_SUFFIXES, PLOT_SUFFIXES
from fer.api.recognizer import Recognizer
from fer.cli.entrypoint import hydra_command
from fer.errors import SourceError, require_extra
from fer.inference.sources import check_readable_kind
from fer.live.config_checks import check_live_config
from fer.numbers import whole_number
from fer.outputs import check_destination, check_outputs, ensure_writable_folder, is_sink

log = logging.getLogger(__name__)


def check_analyze_config(cfg: dict[str, Any], run_dir: Path) -> tuple[Path, Path | None]:
    """Before the model is loaded: the settings, the source, and outputs that can be written whole and
    destroy nothing (`csv=` naming the source video would otherwise overwrite it). Returns (csv, plot)."""
    check_live_config(cfg)
    timeline = cfg.get("timeline") or {}
    for key, least in (("min_frames", 1), ("max_panels", 1)):
        if key in timeline:
            whole_number(timeline[key], f"timeline.{key}", least)
    source = Path(str(cfg.get("source"))).expanduser()
    if not source.exists():
        raise SourceError(f"video not found: {source}")
    check_readable_kind(source)
    if source.is_dir():
        raise SourceError(f"source={source} is a folder; analyze reads one video file "
                          "(scripts/webcam.py headless=true reads folders of photos)")
    csv_path = Path(cfg.get("csv") or run_dir / "analysis.csv")
    plot_path = timeline_destination(cfg.get("plot"), run_dir)
    outputs = [("csv", csv_path)] + ([("plot", plot_path)] if plot_path else [])
    inputs = [("source", source)] + ([("checkpoint", Path(cfg["ckpt"]))] if cfg.get("ckpt") else [])
    check_outputs(outputs, inputs)  # first: the most harmful mistake
    check_destination(csv_path, "csv", CSV_SUFFIXES)
    if plot_path:
        check_destination(plot_path, "plot", PLOT_SUFFIXES)
    for folder in dict.fromkeys(p.parent for _, p in outputs if not is_sink(p)):
        ensure_writable_folder(folder)
    return csv_path, plot_path


def timeline_destination(plot: str | None, run_dir: Path) -> Path | None:
    """The timeline PNG needs matplotlib (`ferkit[plot]`): asked for by `plot=`, its absence is an error
    before any work; by default the plot is only left out, with a note."""
    if importlib.util.find_spec("matplotlib") is None:
        if plot:
            require_extra("matplotlib", f"plot={plot}", what="matplotlib", extra="plot")
        log.info("no timeline plot: it needs matplotlib (pip install 'ferkit[plot]'); writing the CSV only")
        return None
    return Path(plot or run_dir / "timeline.png")


def analyze_video(cfg: dict[str, Any], run_dir: Path) -> tuple[Path, Path | None]:
    """Returns (csv path, plot path or None)."""
    csv_path, plot_path = check_analyze_config(cfg, run_dir)
    analysis = Recognizer.from_config(cfg).analyze(cfg["source"], max_frames=cfg.get("max_frames"))
    analysis.save(csv_path, plot_path, **(cfg.get("timeline") or {}))
    labels = Counter(f.label for fr in analysis.frames for f in fr.faces)
    with_faces = sum(bool(fr.faces) for fr in analysis.frames)
    announced = f" of {analysis.frames_announced} announced" if analysis.frames_announced else ""
    log.info("%d frames%s (%d with a face), %d tracks; labels: %s", len(analysis.frames), announced, with_faces,
             len(analysis.track_ids), dict(labels.most_common()) or "none")
    log.info("wrote %s", " and ".join(str(p) for p in (csv_path, plot_path) if p))
    return csv_path, plot_path


@hydra_command("analyze")
def main(cfg: DictConfig) -> None:
    """`ferkit analyze source=clip.mp4 [csv=out.csv plot=timeline.png]`, plus any `ferkit webcam` override."""
    from hydra.core.hydra_config import HydraConfig

    analyze_video(OmegaConf.to_container(cfg, resolve=True), Path(HydraConfig.get().runtime.output_dir))

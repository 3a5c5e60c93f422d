"""`ferkit analyze` (scripts/analyze.py): a video -> CSV of per-frame, per-face probabilities and a timeline PNG;
a corpus of videos -> a CSV per clip, summary.csv and provenance.json (docs/corpus.md).

    ferkit analyze source=clip.mp4 csv=out.csv plot=timeline.png
    ferkit analyze source=clip.mp4 ckpt=PATH smoothing.ema_alpha=0.3   # any `ferkit webcam` override
    ferkit analyze source=videos/ output=out/ workers=2 sample_fps=5  # a corpus; rerun to resume
    ferkit analyze -m source=videos/ output=out/ hydra/launcher=slurm num_shards=8 'shard=range(8)'
"""

from __future__ import annotations

import importlib.util
import logging
import sys
from pathlib import Path
from typing import Any

from omegaconf import DictConfig

from fer.api.analysis_writer import AnalysisWriter
from fer.api.recognizer import Recognizer
from fer.api.rows import CSV_SUFFIXES, PLOT_SUFFIXES
from fer.api.settings import check_webcam_config, live_settings
from fer.cli.entrypoint import hydra_command
from fer.corpus.listing import is_corpus_source
from fer.corpus.run import CorpusRun, analyze_corpus, check_corpus_settings
from fer.data.shipped_conf import resolved_dict
from fer.errors import ConfigError, SourceError, require_extra
from fer.inference.sources import check_readable_kind
from fer.numbers import positive_number, whole_number
from fer.outputs import check_destination, check_outputs, ensure_writable_folder, is_sink
from fer.progress import progress
from fer.signals import exit_code, interrupt_on_signals

log = logging.getLogger(__name__)


def check_analyze_config(cfg: dict[str, Any], run_dir: Path) -> tuple[Path, Path | None]:
    """Before the model is loaded: the settings, the source, and outputs that can be written whole and
    destroy nothing (`csv=` naming the source video would otherwise overwrite it). Returns (csv, plot)."""
    check_webcam_config(cfg)
    if cfg.get("sample_fps") is not None:
        positive_number(cfg["sample_fps"], "sample_fps")
    timeline = cfg.get("timeline") or {}
    for key, least in (("min_frames", 1), ("max_panels", 1)):
        if key in timeline:
            whole_number(timeline[key], f"timeline.{key}", least)
    source = Path(str(cfg.get("source"))).expanduser()
    if not source.exists():
        raise SourceError(f"video not found: {source}")
    check_readable_kind(source)
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
    """Rows are written as the frames are analysed; returns (csv path, plot path or None)."""
    csv_path, plot_path = check_analyze_config(cfg, run_dir)
    recognizer = Recognizer.from_config(pipeline_settings(cfg))
    run = recognizer.analyze_frames(cfg["source"], max_frames=cfg.get("max_frames"), sample_fps=cfg.get("sample_fps"))
    with AnalysisWriter(csv_path, recognizer.class_names, str(cfg["source"]), run.fps, plot_path,
                        **(cfg.get("timeline") or {})) as writer:
        with_faces = 0
        for frame in progress(run, total=run.expected_frames, unit="frame", desc=Path(cfg["source"]).name,
                              enabled=cfg.get("progress")):
            writer.add(frame)
            with_faces += bool(frame.faces)
        writer.finish(run.frames_announced, run.frames_read, run.incomplete)
    announced = f" of {run.frames_announced} announced" if run.frames_announced else ""
    log.info("%d frames analysed%s (%d with a face), %d tracks; labels: %s", writer.frames, announced, with_faces,
             len(writer.track_ids), dict(writer.labels.most_common()) or "none")
    log.info("wrote %s", " and ".join(str(p) for p in (csv_path, plot_path) if p))
    return csv_path, plot_path


def pipeline_settings(cfg: dict[str, Any]) -> dict[str, Any]:
    """The live pipeline's part of the composed config (the rest says what to read and where to write)."""
    keys = live_settings()
    return {k: v for k, v in cfg.items() if k in keys}


def is_corpus(cfg: dict[str, Any]) -> bool:
    return bool(cfg.get("output")) or cfg.get("num_shards", 1) != 1 or is_corpus_source(str(cfg.get("source")))


def corpus_output(cfg: dict[str, Any], run_dir: Path) -> Path:
    if cfg.get("output"):
        return Path(cfg["output"])
    if cfg.get("num_shards", 1) != 1:
        raise ConfigError("num_shards needs output=FOLDER: every shard writes its clips into that one folder")
    return run_dir


def analyze_many(cfg: dict[str, Any], run_dir: Path) -> CorpusRun:
    """A corpus into OUT; returns what was done (the summary, the failed clips)."""
    check_webcam_config(cfg)
    named = [key for key in ("csv", "plot") if cfg.get(key)]
    if named:
        raise ConfigError(f"{' and '.join(named)}= name one video's outputs; a corpus writes a CSV per clip into "
                          "output=FOLDER (docs/corpus.md)")
    check_corpus_settings(cfg.get("workers"), cfg.get("num_shards", 1), cfg.get("shard", 0), cfg.get("sample_fps"),
                          cfg.get("max_frames"))
    out = corpus_output(cfg, run_dir)
    run = CorpusRun()
    for _ in analyze_corpus(str(cfg["source"]), out, pipeline_settings(cfg), cfg.get("workers"), cfg.get("sample_fps"),
                            cfg.get("max_frames"), cfg.get("num_shards", 1), cfg.get("shard", 0),
                            cfg.get("progress"), run):
        pass
    log.info("%d clips in the corpus, %d in this shard: %d done before, %d analysed now (%d failed)", run.clips,
             run.in_shard, run.skipped, len(run.records), len(run.failed))
    for record in run.failed:
        log.warning("failed: %s: %s", record.name, record.reason)
    if run.summary is not None:
        log.info("wrote %s", run.summary)
    else:
        log.info("%d clips of other shards are still to do: the last shard to end writes the summary", run.waiting)
    return run


@hydra_command("analyze")
def main(cfg: DictConfig) -> None:
    """`ferkit analyze source=clip.mp4 [csv=out.csv plot=timeline.png]`, `ferkit analyze source=DIR output=OUT`,
    plus any `ferkit webcam` override. A corpus with failed clips exits 1 (0 in a multirun: see the summary);
    a stop by a signal exits 128+N, leaving every finished clip in place for the rerun."""
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    settings = resolved_dict(cfg)
    run_dir = Path(HydraConfig.get().runtime.output_dir)
    corpus = is_corpus(settings)
    try:
        with interrupt_on_signals():
            if not corpus:
                analyze_video(settings, run_dir)
                return
            run = analyze_many(settings, run_dir)
    except KeyboardInterrupt as e:
        log.warning("stopped (%s): %s", e, "every clip finished so far is kept; run the same command again to do "
                    "the rest" if corpus else "no CSV or plot was written (an earlier file of the name is as it was)")
        sys.exit(exit_code(e))
    if run.failed and HydraConfig.get().mode != RunMode.MULTIRUN:
        sys.exit(1)

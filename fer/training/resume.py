"""Resuming a run with ckpt_path=<run>/checkpoints/last.ckpt: checked before fit, continued in <run>.

Lightning restores the best checkpoint's path and score only when the checkpoints folder is the one
the run was saving into; in a fresh folder it warns that the best score "won't be reloaded", and the
first new epoch becomes the "best" whatever its score. So a resumed run writes into its original
folder (`continue_in_run_folder`), and the checkpoint is vetted first (`check_resume`): readable
weights-only, the same network as the config, and a schedule that covers the epochs asked for.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf, open_dict

from fer.checkpoints.loading import model_spec, read_weights_only
from fer.data.shipped_conf import resolved_dict
from fer.errors import CheckpointError, ConfigError

log = logging.getLogger(__name__)


def run_folder(ckpt_path: str | Path) -> Path | None:
    """<run> for <run>/checkpoints/<name>.ckpt, else None."""
    path = Path(ckpt_path).expanduser().resolve()
    return path.parent.parent if path.parent.name == "checkpoints" else None


def continue_in_run_folder(cfg: DictConfig) -> Path | None:
    """Point paths.output_dir at the run folder of cfg.ckpt_path, so the best checkpoint carries over."""
    if not cfg.get("ckpt_path"):
        return None
    run = run_folder(cfg.ckpt_path)
    if run is None:
        log.warning("ckpt_path=%s is not inside a run's checkpoints/ folder: this run starts a new folder, "
                    "and its best checkpoint is chosen among the epochs run from now on", cfg.ckpt_path)
        return None
    with open_dict(cfg):
        cfg.paths.output_dir = str(run)
        keep_earlier_logs(cfg, run)
    log.info("resuming in the original run folder %s (checkpoints, history and report continue there)", run)
    return run


def keep_earlier_logs(cfg: DictConfig, run: Path) -> None:
    """Loggers writing into one fixed folder (version "") get a new one: a CSV logger would replace
    the first part's metrics.csv."""
    for entry in (cfg.get("logger") or {}).values():
        if entry is None or entry.get("version") != "" or not entry.get("name"):
            continue
        folder = run / str(entry.name)
        if folder.is_dir() and any(folder.iterdir()):
            n = 1
            while (folder / f"resumed_{n}").exists():
                n += 1
            entry.version = f"resumed_{n}"


def original_command(run: Path | None) -> str:
    overrides = run / ".hydra" / "overrides.yaml" if run is not None else None
    if overrides is None or not overrides.is_file():
        return "the overrides of the original run"
    return "python scripts/train.py " + " ".join(str(o) for o in OmegaConf.load(overrides))


def check_resume(cfg: DictConfig) -> None:
    """Vet cfg.ckpt_path before Lightning opens it; no-op without one."""
    if not cfg.get("ckpt_path"):
        return
    path = Path(cfg.ckpt_path)
    if not path.is_file():
        raise CheckpointError(f"ckpt_path={path} is not a file; resume from a run's checkpoints/last.ckpt")
    obj = read_weights_only(path)  # missing, empty, truncated or code-carrying files end here
    hp = obj.get("hyper_parameters")
    if not isinstance(hp, dict) or "optimizer_states" not in obj or "loops" not in obj:
        raise CheckpointError(f"ckpt_path={path} is not a training checkpoint (no optimizer and loop state; a "
                              "bundle cannot be resumed). Resume from <run>/checkpoints/last.ckpt.")
    run = run_folder(path)
    model = resolved_dict(cfg.model)
    saved = model_spec(hp)
    wanted = (model.get("name"), dict(model.get("kwargs") or {}))
    if saved != wanted:
        raise ConfigError(f"ckpt_path={path} holds model {saved[0]!r} with {saved[1]}, but the config builds "
                          f"{wanted[0]!r} with {wanted[1]}. Resume with the same settings as the original run: "
                          f"{original_command(run)} ckpt_path={path}")
    check_schedule_covers(obj, cfg.trainer.get("max_epochs"), path)


def check_schedule_covers(obj: dict[str, Any], max_epochs: int | None, path: Path) -> None:
    """A one-cycle schedule is planned for a fixed number of steps; it cannot be stretched on resume."""
    schedulers = obj.get("lr_schedulers") or []
    total = schedulers[0].get("total_steps") if schedulers and isinstance(schedulers[0], dict) else None
    done_epochs = int(obj.get("epoch", 0)) + 1
    steps = int(obj.get("global_step", 0))
    if total is None or steps <= 0:
        return
    planned = round(total * done_epochs / steps)
    if max_epochs is None or max_epochs < 0 or max_epochs > planned:
        raise ConfigError(
            f"ckpt_path={path} was trained with a one-cycle schedule planned for {planned} epochs ({total} steps), "
            f"which cannot be stretched to trainer.max_epochs={max_epochs}. Resume with "
            f"trainer.max_epochs={planned} to finish that run, or start a new run with the longer "
            f"trainer.max_epochs (optim.scheduler=plateau has no fixed length and can be resumed for longer).")

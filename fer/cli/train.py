"""`ferkit train` (scripts/train.py): train a model on FER-2013.

    ferkit train model=cnn4 trainer.max_epochs=50 data.root=/path/to/fer2013
    ferkit train experiment=reference
    ferkit train -m optim.lr=1e-3,3e-4 data.batch_size=64,128
    ferkit train ckpt_path=outputs/train/runs/<time>/checkpoints/last.ckpt   # resume in that run
"""

from __future__ import annotations

from omegaconf import DictConfig

from fer.cli.entrypoint import command_line, hydra_command, single_run_in_default_folder


@hydra_command("train")
def main(cfg: DictConfig) -> float | None:
    from fer.training.fit import train
    from fer.training.resume import continue_in_run_folder

    if single_run_in_default_folder():
        # ckpt_path=<run>/checkpoints/last.ckpt continues in <run>, where the best checkpoint is known.
        continue_in_run_folder(cfg)
    metrics = train(cfg, command=command_line("train"))
    # Sweepers (Optuna) minimise/maximise the value returned here.
    value = metrics.get(f"best_{cfg.optimized_metric}", metrics.get(cfg.optimized_metric))
    return None if value is None else float(value)

"""Train a model on FER-2013.

    python scripts/train.py model=cnn4 trainer.max_epochs=50 data.root=/path/to/fer2013
    python scripts/train.py experiment=reference
    python scripts/train.py -m optim.lr=1e-3,3e-4 data.batch_size=64,128
    python scripts/train.py ckpt_path=outputs/train/runs/<time>/checkpoints/last.ckpt   # resume in that run
"""

import os
from pathlib import Path

import hydra
from omegaconf import DictConfig

from fer.cli.entrypoint import exit_on_user_error

os.environ.setdefault("PROJECT_ROOT", str(Path(__file__).resolve().parents[1]))


@hydra.main(version_base="1.3", config_path="../conf", config_name="train")
@exit_on_user_error
def main(cfg: DictConfig) -> float | None:
    from fer.cli.entrypoint import command_line, single_run_in_default_folder
    from fer.training.fit import train
    from fer.training.resume import continue_in_run_folder

    if single_run_in_default_folder():
        # ckpt_path=<run>/checkpoints/last.ckpt continues in <run>, where the best checkpoint is known.
        continue_in_run_folder(cfg)
    metrics = train(cfg, command=command_line("train.py"))
    # Sweepers (Optuna) minimise/maximise the value returned here.
    value = metrics.get(f"best_{cfg.optimized_metric}", metrics.get(cfg.optimized_metric))
    return None if value is None else float(value)


if __name__ == "__main__":
    main()

"""`ferkit search` (scripts/search.py): Optuna hyperparameter search with pruning; any number of workers
share one study.

    ferkit search experiment=fast_cpu search.n_trials=10
    ferkit search search.storage=postgresql://user:pass@db-host/optuna   # one study, many machines

Each trial is one training run in <run dir>/trial_<number>, reporting val/acc to the study after every
epoch; the pruner (search.pruner) stops trials that fall behind. Needs pip install "ferkit[optuna]".
"""

from __future__ import annotations

import copy
from pathlib import Path

from omegaconf import DictConfig

from fer.cli.entrypoint import command_line, hydra_command


def suggest(trial, name: str, spec: DictConfig):
    if "choices" in spec:
        return trial.suggest_categorical(name, list(spec.choices))
    return trial.suggest_float(name, spec.low, spec.high, log=bool(spec.get("log", False)))


@hydra_command("search")
def main(cfg: DictConfig) -> float:
    import optuna
    from hydra.utils import instantiate
    from omegaconf import OmegaConf, open_dict

    from fer.training.fit import train

    s = cfg.search
    study = optuna.create_study(storage=s.storage, study_name=s.study_name, direction=s.direction,
                                sampler=instantiate(s.sampler), pruner=instantiate(s.pruner), load_if_exists=True)
    for _ in range(s.n_trials):
        trial = study.ask()
        trial_cfg = copy.deepcopy(cfg)
        with open_dict(trial_cfg):
            for name, spec in s.params.items():
                OmegaConf.update(trial_cfg, name, suggest(trial, name, spec))
            trial_cfg.paths.output_dir = str(Path(cfg.paths.output_dir) / f"trial_{trial.number}")
            trial_cfg.callbacks.optuna_pruning = {
                "_target_": "fer.training.pruning.OptunaPruning", "storage": s.storage, "study_name": s.study_name,
                "trial_number": trial.number, "monitor": cfg.optimized_metric, "pruner": s.pruner}
        try:
            metrics = train(trial_cfg, command=command_line("search"))
        except optuna.TrialPruned as pruned:
            print(pruned)
            study.tell(trial, state=optuna.trial.TrialState.PRUNED)
            continue
        except Exception:
            study.tell(trial, state=optuna.trial.TrialState.FAIL)
            raise
        study.tell(trial, metrics.get(f"best_{cfg.optimized_metric}", metrics.get(cfg.optimized_metric)))
    done = study.get_trials(states=(optuna.trial.TrialState.COMPLETE,))
    if not done:
        print(f"study {s.study_name}: no trial completed yet ({len(study.trials)} in all)")
        return float("nan")
    print(f"study {s.study_name}: {len(study.trials)} trials, best {study.best_value:.4f} with {study.best_params}")
    return study.best_value

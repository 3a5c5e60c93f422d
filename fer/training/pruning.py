"""Optuna pruning from inside a training run: report the validation accuracy each epoch, stop bad trials.

The trial lives in the study's database, so the callback needs only the storage URL, the study name and
the trial number; it is configured like any other callback and needs no object handed over in code.
"""

from __future__ import annotations

import lightning as L
import optuna


class OptunaPruning(L.Callback):
    """After each validation, trial.report(monitor, epoch); raise optuna.TrialPruned when the pruner says so."""

    def __init__(self, storage: str, study_name: str, trial_number: int, monitor: str = "val/acc",
                 pruner: optuna.pruners.BasePruner | None = None):
        study = optuna.load_study(study_name=study_name, storage=storage, pruner=pruner)
        trial_id = next(t._trial_id for t in study.get_trials(deepcopy=False) if t.number == trial_number)
        self.trial = optuna.trial.Trial(study, trial_id)
        self.monitor = monitor

    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.sanity_checking or self.monitor not in trainer.callback_metrics:
            return
        epoch = trainer.current_epoch
        self.trial.report(float(trainer.callback_metrics[self.monitor]), step=epoch)
        # Under DDP every rank reads the same synced metric and the same study, so all stop together.
        if self.trial.should_prune():
            raise optuna.TrialPruned(f"trial {self.trial.number} pruned after epoch {epoch}: "
                                     f"{self.monitor}={float(trainer.callback_metrics[self.monitor]):.4f}")

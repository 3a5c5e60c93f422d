"""Keeping a budgeted fit to its deadline with its one-cycle schedule complete (fer.training.budget plans)."""

from __future__ import annotations

import logging
import math
import statistics
import time

import lightning as L

from fer.training.budget import BudgetPlan

log = logging.getLogger(__name__)


class DeadlineGuard(L.Callback):
    """Keeps the run inside its budget with its one-cycle schedule complete, however busy the machine gets.

    The planned schedule counts steps; if the machine runs slower than in the warm-up, the schedule is
    moved forward to the fraction of the training time already used, so it reaches its final learning
    rate as the time runs out and the fit stops there (a last validation keeps the best checkpoint).
    A machine faster than measured simply finishes the planned steps early.
    """

    def __init__(self, plan: BudgetPlan):
        self.plan = plan
        self.fast_forwarded = 0   # scheduler steps skipped to keep to the deadline
        self.stopped_early = False
        self._start = 0.0
        self._position = 0
        self._epoch_start: float | None = None
        self._overheads: list[float] = []
        self._vals: list[float] = []
        self._batch_t = self._batch_s = self._val_t = self._val_s = 0.0

    def on_train_start(self, trainer, pl_module):
        self._start = time.time()

    def _train_end(self) -> float:
        # The last validation pass and epoch bookkeeping come after the last training step.
        return self.plan.fit_deadline - self.plan.val_s - self.plan.epoch_overhead_s

    # The real validation pass and per-epoch work replace the warm-up's estimates once seen (the median
    # of those seen, so one slow checkpoint write does not cut the schedule short), and the time kept for
    # them after the last training step is what this run actually spends.
    def on_train_epoch_start(self, trainer, pl_module):
        now = time.time()
        if self._epoch_start is not None:
            period = now - self._epoch_start
            self._overheads.append(max(0.0, period - self._batch_s - self._val_s))
            self.plan.epoch_overhead_s = statistics.median(self._overheads)
        self._epoch_start, self._batch_s, self._val_s = now, 0.0, 0.0

    def on_validation_start(self, trainer, pl_module):
        self._val_t = time.time()

    def on_validation_end(self, trainer, pl_module):
        if not trainer.sanity_checking:
            self._val_s = time.time() - self._val_t
            self._vals.append(self._val_s)
            self.plan.val_s = statistics.median(self._vals)

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        self.plan.last_step_lr = float(trainer.optimizers[0].param_groups[0]["lr"])
        self.plan.steps_run += 1
        self._batch_t = time.time()

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        self._batch_s += time.time() - self._batch_t
        # Lightning has stepped the schedulers for this batch already.
        if self.plan.max_steps is not None and trainer.global_step >= self.plan.max_steps:
            trainer.should_stop = True  # the shorter last epoch is over: stopping here validates it
        configs = trainer.lr_scheduler_configs
        sched = configs[0].scheduler if configs else None
        total = getattr(sched, "total_steps", None)
        if total is None:  # not a one-cycle: only the hard stop applies
            if time.time() > self.plan.fit_deadline:
                self._stop(trainer)
            return
        span = max(1e-6, self._train_end() - self._start)
        by_time = math.ceil(min(1.0, (time.time() - self._start) / span) * (total - 1))
        # The schedule's position is the further of the steps done and the share of the time used; once
        # ahead of the steps it waits for them, so a machine that speeds up again loses no time.
        target = min(total - 1, max(by_time, trainer.global_step, self._position))
        if target != sched.last_epoch:
            self.fast_forwarded += max(0, target - max(trainer.global_step, self._position))
            sched.last_epoch = target - 1
            sched.step()  # applies the learning rate (and momentum) of step `target`
        self._position = target
        if by_time >= total - 1:  # out of time: the schedule is at its end, stop here
            self._stop(trainer)

    def on_train_end(self, trainer, pl_module):
        configs = trainer.lr_scheduler_configs
        sched = configs[0].scheduler if configs else None
        total = getattr(sched, "total_steps", None)
        self.plan.schedule_complete = total is not None and sched.last_epoch >= total - 1

    def _stop(self, trainer: L.Trainer) -> None:
        if not self.stopped_early:
            log.warning("budget: the machine ran slower than in the warm-up (other jobs on the cores?); the "
                        "schedule was moved on by %d steps and the fit ends in epoch %d of %d, on time.",
                        self.fast_forwarded, trainer.current_epoch + 1, self.plan.epochs)
        self.stopped_early = True
        trainer.should_stop = True

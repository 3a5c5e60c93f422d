"""Keeping a budgeted fit to its deadline with its one-cycle schedule complete (fer.training.budget.plan plans)."""

from __future__ import annotations

import logging
import math
import statistics
import time

import lightning as L

from fer.schedule import step_schedule
from fer.training.budget.plan import BudgetPlan

log = logging.getLogger(__name__)


class DeadlineGuard(L.Callback):
    """Keeps the run inside its budget with its one-cycle schedule complete, whatever speed the machine has.

    The one-cycle is built for the planned steps, but its position follows the clock: the share of the
    training time used. A machine slower than in the warm-up (another job on the cores) reaches the end of
    the schedule in fewer steps; a faster one runs more steps than planned, the schedule stretched over
    them. Either way the fit stops as the time runs out, at the final learning rate, and a last
    validation keeps the best checkpoint.
    """

    def __init__(self, plan: BudgetPlan):
        self.plan = plan
        self._stopped = False
        self._start = 0.0
        self._position = 0
        self._epoch_start: float | None = None
        self._overheads: list[float] = []
        self._vals: list[float] = []
        self._batch_t = self._batch_s = self._val_t = self._val_s = 0.0

    def on_train_start(self, trainer, pl_module):
        self._start = time.time()
        # The planned epochs and steps sized the one-cycle; from here the clock ends the fit, so a fast
        # machine may run past them (the cap only guards against a clock that never advances).
        loop = getattr(trainer, "fit_loop", None)
        if loop is not None:
            loop.max_epochs = max(loop.max_epochs or 1, 1) * 3 + 2
            loop.epoch_loop.max_steps = -1

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
        sched, total = step_schedule(trainer)
        if total is None:  # not a one-cycle: only the hard stop applies
            if time.time() > self.plan.fit_deadline:
                self._stop(trainer, total)
            return
        span = max(1e-6, self._train_end() - self._start)
        by_time = math.ceil(min(1.0, (time.time() - self._start) / span) * (total - 1))
        # Lightning has stepped the scheduler for this batch already; put it where the clock says (never
        # backwards, and never past its last step before the time is up).
        target = min(total - 1, max(by_time, self._position))
        if target != sched.last_epoch:
            sched.last_epoch = target - 1
            sched.step()  # applies the learning rate (and momentum) of step `target`
        self._position = target
        if by_time >= total - 1:  # out of time: the schedule is at its end, stop here
            self._stop(trainer, total)

    def on_train_end(self, trainer, pl_module):
        sched, total = step_schedule(trainer)
        self.plan.schedule_complete = total is not None and sched.last_epoch >= total - 1

    def _stop(self, trainer: L.Trainer, total: int | None) -> None:
        if not self._stopped and total is not None:
            done = trainer.global_step
            self.plan.planned_steps = total
            if done < total:
                log.warning("budget: the machine ran slower than in the warm-up (other jobs on the cores?); the "
                            "fit ends on time after %d of %d planned steps, its schedule complete.", done, total)
            else:
                log.info("budget: the machine ran faster than in the warm-up: %d steps instead of %d, the "
                         "schedule stretched over them.", done, total)
        self._stopped = True
        trainer.should_stop = True

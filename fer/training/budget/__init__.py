"""Training to a wall-clock budget, one sub-room of fer.training: `plan.py` decides the run's network, epochs
and augmentation from a warm-up that `timing.py` times, before the run's datamodule is built;
`with_plan` applies it to the config, fer.training.deadline keeps the fit to it."""

from fer.training.budget.plan import (  # noqa: F401  (the planner's names, as `fer.training.budget` offered them)
    BudgetPlan,
    add_partial_epoch,
    choose_size,
    epochs_that_fit,
    minimum_epochs,
    plan_budget,
    process_age_s,
    with_plan,
)

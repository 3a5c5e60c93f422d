"""Per-epoch metric history, kept in checkpoints so a resumed run still draws its full curves."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import lightning as L

TRACKED = ("train/loss_epoch", "train/acc", "val/loss", "val/acc", "val/f1", "lr")


class MetricHistory(L.Callback):
    """Appends one row per finished epoch and rewrites `history.json` in the run directory."""

    def __init__(self, path: str | None = None):
        self.path = Path(path) if path else None
        self.rows: list[dict[str, Any]] = []
        self._fit_start = time.perf_counter()
        self.time_before_fit = 0.0  # seconds the run trained before this process resumed it

    def on_fit_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        # Wall time counts training and validation; a resumed run continues from the restored rows.
        self._fit_start = time.perf_counter()
        self.time_before_fit = self.rows[-1].get("time_s", 0.0) if self.rows else 0.0

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        # fast_dev_run is set on the Trainer by Lightning's setup, outside the class, so its type omits it.
        if trainer.sanity_checking or trainer.fast_dev_run:  # type: ignore[attr-defined]
            return
        metrics = trainer.callback_metrics
        row: dict[str, Any] = {
            "epoch": trainer.current_epoch,
            "time_s": round(self.time_before_fit + time.perf_counter() - self._fit_start, 1),
        }
        for key in TRACKED:
            if key in metrics:
                row[key.replace("_epoch", "")] = float(metrics[key])
        if trainer.optimizers:
            row["lr"] = float(trainer.optimizers[0].param_groups[0]["lr"])
        self.rows = [r for r in self.rows if r["epoch"] != row["epoch"]] + [row]
        if self.path is not None and trainer.is_global_zero:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.path.write_text(json.dumps(self.rows, indent=1))

    def state_dict(self) -> dict[str, Any]:
        return {"rows": self.rows}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.rows = list(state_dict.get("rows", []))

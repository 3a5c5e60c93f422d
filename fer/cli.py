"""Small helpers shared by the Hydra entry points in scripts/."""

from __future__ import annotations

from hydra.core.hydra_config import HydraConfig


def command_line(script: str) -> str:
    """The command that reproduces this run: `python scripts/<script> <overrides>`."""
    try:
        overrides = HydraConfig.get().overrides.task
    except ValueError:  # composed without @hydra.main (tests)
        overrides = []
    return " ".join(["python", f"scripts/{script}", *overrides])

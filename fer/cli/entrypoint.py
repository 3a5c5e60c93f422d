"""What the Hydra entry points in scripts/ share: the command line of a run and the user-error policy."""

from __future__ import annotations

import functools
import sys

from hydra.core.hydra_config import HydraConfig

from fer.errors import FERError


def command_line(script: str) -> str:
    """The command that reproduces this run: `python scripts/<script> <overrides>`."""
    try:
        overrides = HydraConfig.get().overrides.task
    except ValueError:  # composed without @hydra.main (tests)
        overrides = []
    return " ".join(["python", f"scripts/{script}", *overrides])


def single_run_in_default_folder() -> bool:
    """True for a single run whose folder was not chosen with hydra.run.dir= (so it may be moved)."""
    from hydra.types import RunMode

    try:
        hydra = HydraConfig.get()
    except ValueError:  # composed without @hydra.main (tests)
        return False
    explicit = any(o.split("=", 1)[0].lstrip("+~") == "hydra.run.dir" for o in hydra.overrides.hydra)
    return hydra.mode == RunMode.RUN and not explicit


def exit_on_user_error(fn):
    """Wrap an entry point so a mistake the user can fix prints one line and exits 2.

    Only `FERError` is caught: any other exception is a bug and keeps its traceback.
    """

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except FERError as err:
            print(f"error: {err}", file=sys.stderr)
            sys.exit(2)

    return wrapper

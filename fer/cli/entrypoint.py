"""What the entry points share: the command line of a run and the user-error policy.

Each command is one module of this package (fer.cli.train, ...), reached as `ferkit <command>` (fer.cli.main)
or, in a checkout, as `python scripts/<command>.py`; both run the same code on the same configs.
"""

from __future__ import annotations

import argparse
import functools
import sys
from pathlib import Path

from hydra.core.hydra_config import HydraConfig

from fer.errors import FERError


def launcher(command: str) -> str:
    """How to start `command` the way this process was started: `python scripts/<command>.py` from a
    checkout's scripts/, else `ferkit <command>`."""
    started = Path(sys.argv[0])
    if started.suffix == ".py" and started.parent.name == "scripts":
        return f"python scripts/{command}.py"
    return f"ferkit {command}"


def command_line(command: str) -> str:
    """The command that reproduces this run: the launcher (see `launcher`) and the Hydra overrides."""
    try:
        overrides = HydraConfig.get().overrides.task
    except ValueError:  # composed without @hydra.main (tests)
        overrides = []
    return " ".join([launcher(command), *overrides])


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


class OneLineParser(argparse.ArgumentParser):
    """argparse for a command's flags, with the user-error policy: a bad or missing argument prints
    `error: <what>; see <prog> --help` on one line and exits 2 (argparse would print its whole usage)."""

    def error(self, message: str):
        print(f"error: {message}; see {self.prog} --help", file=sys.stderr)
        sys.exit(2)

"""What the entry points share: the command line of a run and the user-error policy.

Each command is one module of this package (fer.cli.train, ...), reached as `ferkit <command>` (fer.cli.main)
or, in a checkout, as `python scripts/<command>.py`; both run the same code on the same configs.
"""

from __future__ import annotations

import argparse
import functools
import os
import sys
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig

from fer.cli.hydra_errors import COMMAND_LINE_MISTAKES, explain
from fer.errors import FERError
from fer.numbers import renamed_overrides


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


def hydra_command(config_name: str):
    """`@hydra.main` on conf/<config_name>.yaml (the package fer.conf) with the user-error policy, both for
    the command's FERErrors (exit_on_user_error) and for Hydra's refusals of the command line (a misspelt
    key, an unknown group option, an unreadable override; see fer.cli.hydra_errors)."""

    def decorate(task):
        hydra_main = hydra.main(version_base="1.3", config_path="pkg://fer.conf",
                                config_name=config_name)(exit_on_user_error(task))

        @functools.wraps(task)
        def main():
            sys.argv[1:] = renamed_overrides(sys.argv[1:])  # a renamed setting's old name still works
            before = os.environ.get("HYDRA_FULL_ERROR")
            if before == "1":  # the user asked for Hydra's own report and traceback
                return hydra_main()
            # Hydra's documented switch: raise its errors instead of printing them and exiting 1.
            os.environ["HYDRA_FULL_ERROR"] = "1"
            try:
                return hydra_main()
            except COMMAND_LINE_MISTAKES as err:
                print(f"error: {explain(err, sys.argv[1:])}", file=sys.stderr)
                sys.exit(2)
            finally:
                if before is None:
                    os.environ.pop("HYDRA_FULL_ERROR", None)
                else:
                    os.environ["HYDRA_FULL_ERROR"] = before

        return main

    return decorate


class OneLineParser(argparse.ArgumentParser):
    """argparse for a command's flags, with the user-error policy: a bad or missing argument prints
    `error: <what>; see <prog> --help` on one line and exits 2 (argparse would print its whole usage)."""

    def error(self, message: str):
        print(f"error: {message}; see {self.prog} --help", file=sys.stderr)
        sys.exit(2)

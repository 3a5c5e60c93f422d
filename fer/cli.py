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


# Errors a user can fix from the message alone: shown without a traceback.
USER_ERRORS = (FileNotFoundError, ValueError, KeyError, ConnectionError)


def exit_on_user_error(fn):
    """Wrap an entry point so configuration and data mistakes print one clear line and exit 2."""
    import functools
    import sys

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except USER_ERRORS as err:
            message = err.args[0] if isinstance(err, KeyError) and err.args else err
            print(f"error: {message}", file=sys.stderr)
            sys.exit(2)

    return wrapper

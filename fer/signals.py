"""SIGINT, SIGTERM and SIGHUP end a live run the same way, at a frame boundary, with every output final.

`timeout`, `docker stop` and systemd send SIGTERM, whose default action kills the process at once:
an mp4 would be left without its index ("moov atom not found") and the JSONL unflushed. Inside
`interrupt_on_signals()` the first of these signals only records a request to stop; the frame loop
calls `raise_if_stopped()` between frames, which raises `Interrupted` (a KeyboardInterrupt), so the
frame being written is finished and the `finally` blocks release the writers. A second signal
raises at once, for a run stuck outside the frame loop.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

STOP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name))
_pending: list[int] = []


class Interrupted(KeyboardInterrupt):
    """A run stopped by a signal; `exit_code` is the shell's convention, 128 + the signal number."""

    def __init__(self, signum: int):
        super().__init__(f"stopped by {signal.Signals(signum).name}")
        self.exit_code = 128 + signum


def exit_code(interrupt: KeyboardInterrupt) -> int:
    return getattr(interrupt, "exit_code", 128 + signal.SIGINT)


def _request_stop(signum: int, frame) -> None:
    if _pending:  # asked twice: stop now
        raise Interrupted(signum)
    _pending.append(signum)


def raise_if_stopped() -> None:
    """Raise `Interrupted` if a stop signal arrived since the last frame."""
    if _pending:
        raise Interrupted(_pending[0])


@contextmanager
def interrupt_on_signals() -> Iterator[None]:
    """Handle the stop signals as described above while the block runs (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers can only be installed from the main thread
        return
    _pending.clear()
    previous = {s: signal.signal(s, _request_stop) for s in STOP_SIGNALS}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        _pending.clear()

"""Long work for a request in a worker thread that stops when the client goes away.

A thread cannot be cancelled from outside, so the work is handed a `check` to call between its steps
(frames): it raises ClientGone once the request's connection has closed, noticed by a task that waits
for the ASGI server's `http.disconnect` while the thread works.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

T = TypeVar("T")


class ClientGone(Exception):
    """The client closed the connection before its answer was ready."""


async def wait_for_disconnect(request: Request, gone: threading.Event) -> None:
    while (await request.receive())["type"] != "http.disconnect":  # the body is read: nothing else comes
        pass
    gone.set()


async def run_while_connected(request: Request, work: Callable[..., T], *args: Any) -> T:
    """work(*args, check) in a worker thread; check(*_) raises ClientGone after the client disconnected."""
    gone = threading.Event()

    def check(*_: Any) -> None:
        if gone.is_set():
            raise ClientGone

    # A plain task, not a task group, so the work's own exception (a RequestError) reaches the caller as it is.
    watcher = asyncio.ensure_future(wait_for_disconnect(request, gone))
    try:
        return await run_in_threadpool(work, *args, check)
    finally:
        watcher.cancel()

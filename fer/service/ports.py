"""A free loopback port, for starting the service beside others: the benches that measure it and the tests
that talk to a real server, the light install's included (they run against the installed package)."""

from __future__ import annotations

import socket


def free_port() -> int:
    """A loopback port nothing listens on now (the OS picks it)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]

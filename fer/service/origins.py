"""Only the service's own page (and origins and hosts named in the config) may use it: 403 for the rest.

Any web page a user visits can make their browser open a WebSocket to, or POST a form to,
http://127.0.0.1:8000; the browser then sends that page's Origin, which is checked here. A foreign
name that resolves to 127.0.0.1 (DNS rebinding) shows in the Host header, also checked here.
Requests without an Origin (curl, the Python client, a page's own GETs) are not browsers acting for
another site, so they pass.

A pure ASGI middleware, so one check covers HTTP and WebSocket handshakes alike, before any route
runs. Starlette's CORSMiddleware only adds response headers (it refuses nothing), and its
TrustedHostMiddleware answers 400 in plain text and knows no WebSockets' denial responses.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

LOCAL_NAMES = ("localhost", "127.0.0.1", "::1")
DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}


def split_host(value: str) -> tuple[str, int | None]:
    """'127.0.0.1:8000' / '[::1]:8000' / 'Example.org' -> (host, port or None), lower-case, no brackets."""
    value = value.strip().lower()
    if value.startswith("["):
        host, _, rest = value[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else ""
    elif value.count(":") == 1:
        host, port = value.split(":")
    else:
        host, port = value, ""
    return host.rstrip("."), int(port) if port.isdigit() else None


class OriginGuard:
    def __init__(self, app: ASGIApp, allowed_origins: tuple[str, ...] = (), allowed_hosts: tuple[str, ...] = ()):
        self.app = app
        self.allowed_origins = set(allowed_origins)
        self.any_host = "*" in allowed_hosts
        self.allowed_hosts = set(LOCAL_NAMES) | set(allowed_hosts)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            refusal = self.refusal(scope)
            if refusal is not None:
                await self.refuse(scope, receive, send, refusal)
                return
        await self.app(scope, receive, send)

    def refusal(self, scope: Scope) -> str | None:
        """Why this request is refused, or None."""
        headers = Headers(scope=scope)
        server_host, server_port = scope.get("server") or ("", None)
        names = self.allowed_hosts | {str(server_host).lower()}  # the address it is bound to / was reached at
        host_header = headers.get("host")
        host, port = split_host(host_header) if host_header else (str(server_host), server_port)
        if not self.any_host and host not in names:
            return (f"the Host {host_header!r} is not one this service is served under; add it to "
                    "service.allowed_hosts if a proxy forwards it")
        origin = headers.get("origin")
        if origin is None or origin.lower().rstrip("/") in self.allowed_origins:
            return None
        parts = urlsplit(origin.lower())
        if parts.scheme in ("http", "https") and parts.hostname:
            try:
                origin_at = (parts.hostname, parts.port or DEFAULT_PORTS[parts.scheme])
            except ValueError:  # a port that is no number
                origin_at = None
            own = {(name, server_port) for name in LOCAL_NAMES + (str(server_host).lower(),)}
            own.add((host, port or DEFAULT_PORTS[parts.scheme]))  # the page served under this (trusted) Host
            if origin_at in own:
                return None
        return (f"cross-origin requests from {origin!r} are refused; only this service's own page may call it "
                "(add the origin to service.allowed_origins if a proxy serves the page under another name)")

    async def refuse(self, scope: Scope, receive: Receive, send: Send, error: str) -> None:
        response = JSONResponse({"error": error}, status_code=403)
        if scope["type"] == "http" or "websocket.http.response" in scope.get("extensions", {}):
            await response(scope, receive, send)  # for a WebSocket: a 403 answer to its handshake
        else:  # a server without denial responses answers a close before accept with 403 itself
            await send({"type": "websocket.close", "code": 1008, "reason": "origin refused"})

"""A request the service refuses: an HTTP status and a message that says what was wrong."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


class RequestError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


def too_large(what: str, limit_bytes: int) -> RequestError:
    return RequestError(413, f"{what} is larger than the limit of {limit_bytes / (1 << 20):g} MB")


def validation_message(errors: Sequence[Any]) -> str:
    """FastAPI's validation errors -> "format (query): Input should be 'json' or 'csv', got 'xml'; ..."."""
    parts = []
    for e in errors:
        loc = [str(p) for p in e.get("loc", ())]
        where = f"{loc[-1]} ({loc[0]})" if len(loc) > 1 else (loc[0] if loc else "the request")
        got = f", got {e['input']!r}" if "input" in e and not isinstance(e["input"], (dict, list)) else ""
        parts.append(f"{where}: {e.get('msg', 'invalid')}{got}")
    return "; ".join(parts) or "invalid request"

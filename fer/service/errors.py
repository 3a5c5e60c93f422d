"""A request the service refuses: an HTTP status and a message that says what was wrong."""

from __future__ import annotations


class RequestError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


def too_large(what: str, limit_bytes: int) -> RequestError:
    return RequestError(413, f"{what} is larger than the limit of {limit_bytes / (1 << 20):g} MB")

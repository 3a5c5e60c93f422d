"""The service's temporary upload folder: a folder of each request's own inside it, made again if it was deleted.

A folder the service cannot write (read-only, full, removed with its parent) is the server's trouble, not
the client's: the request gets a JSON 503 that says so (without the server's paths), and the operator a
warning naming the folder and the cause.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from fer.service.errors import RequestError

log = logging.getLogger(__name__)


def cannot_store(folder: Path, error: OSError) -> RequestError:
    """The 503 for an upload that could not be written into `folder`, logged for the operator."""
    log.warning("cannot store an upload in %s: %s", folder, error)
    return RequestError(503, f"the server cannot store uploads right now ({error.strerror or error}); "
                             "try again later")


def make_request_folder(root: Path) -> Path:
    try:
        return Path(tempfile.mkdtemp(dir=root))
    except FileNotFoundError:
        log.warning("the upload folder %s is gone; making it again", root)
    except OSError as e:
        raise cannot_store(root, e) from e
    try:
        root.mkdir(mode=0o700, parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(dir=root))
    except OSError as e:
        raise cannot_store(root, e) from e


@contextmanager
def request_folder(root: Path) -> Iterator[Path]:
    """A folder of this request's own inside the service's upload folder `root`, removed afterwards."""
    folder = make_request_folder(root)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)

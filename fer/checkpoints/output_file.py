"""Where an export may write: never over an existing file unless asked, never a half-written file."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from fer.errors import OutputError


def check_output(path: str | Path, force: bool = False) -> Path:
    """The path to write, or an OutputError saying why it cannot be written."""
    path = Path(path)
    if path.is_dir():
        raise OutputError(f"--out {path} is a folder; name the file to write, e.g. {path / 'model.onnx'}")
    if path.exists() and not force:
        raise OutputError(f"{path} exists; pass --force to overwrite it, or choose another --out")
    folder = path.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise OutputError(f"cannot create the folder {folder} for --out: {e.strerror}") from None
    if not os.access(folder, os.W_OK | os.X_OK):
        raise OutputError(f"cannot write into {folder} (read-only or not yours); choose another --out")
    return path


def write_atomically(path: Path, data: bytes) -> None:
    """Write to a temporary file beside `path`, then rename: readers never see a partial file."""
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes the file private; a model file is not
        os.replace(tmp, path)
    except OSError as e:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
        raise OutputError(f"cannot write {path}: {e.strerror}") from None

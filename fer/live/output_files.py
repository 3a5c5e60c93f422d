"""Safe outputs for headless runs: never onto an input or onto each other, and never half-written.

Every output is first written under a hidden partial name next to its final path and renamed into
place when the run ends (finished, q, Ctrl-C or SIGTERM). A run that fails leaves an existing file
of the same name exactly as it was, and a killed run (SIGKILL) leaves only a `.partial` file.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

from fer.errors import OutputError


def file_key(path: Path) -> tuple:
    """Identity of a path: the inode for an existing file (catches hard links), else its real path."""
    try:
        st = os.stat(path)
    except OSError:
        return ("path", os.path.realpath(path))
    return ("inode", st.st_dev, st.st_ino)


def check_outputs(outputs: Iterable[tuple[str, Path]], inputs: Iterable[tuple[str, Path]]) -> None:
    """Refuse outputs that resolve (through symlinks and hard links) to an input or to each other.

    outputs, inputs: (what it is, path) pairs, e.g. ("output", out.mp4), ("source", clip.mp4).
    """
    taken = {file_key(Path(p)): (what, Path(p)) for what, p in inputs}
    for what, path in outputs:
        path = Path(path)
        key = file_key(path)
        if key in taken:
            other, other_path = taken[key]
            if os.path.abspath(other_path) == os.path.abspath(path):
                same = f"{what}={path} is also the {other}"
            else:
                same = f"{what}={path} is the same file as the {other} {other_path}"
            raise OutputError(f"{same}: writing it would destroy it. Choose another {what.split()[0]}=PATH.")
        taken[key] = (what, path)


def check_not_input_folder(out_dir: Path, input_dir: Path | None) -> None:
    """Annotated images written among the photos would be read back as photos by the next run."""
    if input_dir is not None and out_dir.is_dir() and os.path.samefile(out_dir, input_dir):
        raise OutputError(f"output={out_dir} is the folder of input photos: the annotated images would mix "
                          "with them and be read as photos by the next run. Choose another folder, "
                          f"e.g. output={out_dir.name}_annotated/")


def ensure_writable_folder(folder: Path) -> None:
    """Create `folder` and prove a file can be written in it, naming a permission problem plainly."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except PermissionError:
        raise OutputError(f"no permission to write in {folder}: choose an output folder you can write to, "
                          "or change its permissions") from None
    except OSError as e:
        raise OutputError(f"cannot write in {folder}: {e.strerror or e}") from None


def partial_path(path: Path) -> Path:
    """Where `path` is written until the run ends: hidden, same folder, same suffix (codecs go by it)."""
    return path.with_name(f".{path.stem}.partial{path.suffix}")


def commit(partial: Path, final: Path) -> None:
    os.replace(partial, final)


def discard(partial: Path) -> None:
    partial.unlink(missing_ok=True)

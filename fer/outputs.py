"""Safe outputs, for every file the package writes: never onto an input or onto each other, never half-written.

Rules every writer follows (headless video, images and JSONL, analysis CSV and timeline plot, ONNX and
bundle exports, the data cache):

- Before any work, each destination is checked: not a folder, not a socket or block device, a suffix
  the writer can produce, and not the same file (through symbolic and hard links) as an input or as
  another output of the same run.
- Each output is written under a hidden partial name in its own folder (`.out.partial.mp4`: codecs go
  by the suffix), flushed and fsync'ed, and only then renamed over the final name. A write error
  (disk full, quota, I/O error) removes the partial file and becomes one OutputError; a file of the
  final name from an earlier run stays byte-identical.
- A character device or FIFO (`/dev/null`, `/dev/stdout`, a named pipe) is a sink: it is written
  directly, never renamed over.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import tempfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import IO, Any

from fer.errors import ConfigError, OutputError


def file_key(path: Path) -> tuple:
    """Identity of a path: the inode for an existing file (catches hard links), else its real path."""
    try:
        st = os.stat(path)
    except OSError:
        return ("path", os.path.realpath(path))
    return ("inode", st.st_dev, st.st_ino)


def check_outputs(outputs: Iterable[tuple[str, Path]], inputs: Iterable[tuple[str, Path]]) -> None:
    """Refuse outputs that resolve (through symlinks and hard links) to an input or to each other.

    outputs, inputs: (what it is, path) pairs, e.g. ("output", out.mp4), ("source", clip.mp4). Sinks
    (/dev/null) may be named more than once: writing to them destroys nothing.
    """
    taken = {file_key(Path(p)): (what, Path(p)) for what, p in inputs}
    for what, path in outputs:
        path = Path(path)
        key = file_key(path)
        if key in taken and not is_sink(path):
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


def is_sink(path: Path) -> bool:
    """An existing character device or FIFO (/dev/null, /dev/stdout, a named pipe): written, never replaced."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False
    return stat.S_ISCHR(mode) or stat.S_ISFIFO(mode)


def check_destination(path: str | Path, what: str, suffixes: Iterable[str] = (), sink_ok: bool = True) -> Path:
    """Refuse, before any work, a destination that cannot be written whole: a folder, a socket or block
    device, a sink where the writer needs a regular file (a video), or a suffix the writer cannot produce."""
    path = Path(path)
    suffixes = tuple(suffixes)
    if path.is_dir():
        example = path / f"out{suffixes[0]}" if suffixes else path / "out"
        raise OutputError(f"{what}={path} is a folder; name a file to write, e.g. {what}={example}")
    if is_sink(path):
        if sink_ok:
            return path
        raise OutputError(f"{what}={path} is a device or pipe, but this output must be a regular file "
                          f"(it is read back before it is kept); name a file, e.g. {what}=out{suffixes[0]}")
    if path.exists() and not path.is_file():
        raise OutputError(f"{what}={path} exists and is not a regular file; name a file to write")
    if suffixes and path.suffix.lower() not in suffixes:
        raise ConfigError(f"{what}={path} must end in one of {', '.join(suffixes)}")
    return path


def check_output(path: str | Path, force: bool = False, inputs: Iterable[tuple[str, Path]] = (),
                 flag: str = "--out") -> Path:
    """The path an export writes, or an OutputError saying why it cannot be written.

    An existing file is overwritten only with `force`, and never when it is one of `inputs`.
    """
    path = Path(path)
    if path.is_dir():
        raise OutputError(f"{flag} {path} is a folder; name the file to write, e.g. {path / 'model.onnx'}")
    check_outputs([(flag.lstrip("-"), path)], inputs)
    if is_sink(path):
        return path
    if path.exists() and not path.is_file():
        raise OutputError(f"{flag} {path} exists and is not a regular file; name a file to write")
    if path.exists() and not force:
        raise OutputError(f"{path} exists; pass --force to overwrite it, or choose another {flag}")
    folder = path.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise OutputError(f"cannot create the folder {folder} for {flag}: {e.strerror}") from None
    if not os.access(folder, os.W_OK | os.X_OK):
        raise OutputError(f"cannot write into {folder} (read-only or not yours); choose another {flag}")
    return path


def output_error(err: OSError, path: Path) -> OutputError:
    """One line for a failed write, saying that nothing of the same name was replaced."""
    kept = f"nothing was replaced ({path.name} is as it was, if it existed)"
    if err.errno == errno.ENOSPC:
        return OutputError(f"no space left on the disk holding {path}: {kept}. Free some space or write elsewhere")
    if err.errno == errno.EDQUOT:
        return OutputError(f"disk quota exceeded writing {path}: {kept}. Free some space or write elsewhere")
    if err.errno == errno.EROFS:
        return OutputError(f"{path.parent} is on a read-only file system; choose another folder")
    if err.errno in (errno.EACCES, errno.EPERM):
        return OutputError(f"no permission to write {path}; choose a folder you can write to")
    return OutputError(f"cannot write {path}: {err.strerror or err}; {kept}")


def partial_path(path: Path, shared: bool = False) -> Path:
    """Where `path` is written until it is complete: hidden, same folder, same suffix (codecs go by it).
    shared: other processes may write the same file at the same time (the jobs of a sharded corpus run),
    so each writes a partial file of its own; the last rename wins, and each is whole."""
    tag = f".{os.getpid()}" if shared else ""
    return path.with_name(f".{path.stem}{tag}.partial{path.suffix}")


def fsync_file(path: Path) -> None:
    """Force a file written by a library (OpenCV, matplotlib) to disk, so a full disk is seen now."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_folder(folder: Path) -> None:
    """Make a rename durable; some file systems cannot sync a folder, which is no error."""
    with suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


class PendingFile:
    """An output written under its partial name (`path`) until `commit()` renames it to `final`.

    `seal()` checks the finished partial file (fsync, then an optional `verify(path)` that raises
    OutputError) without touching the final name, so several outputs can all be sealed before any is
    committed. `discard()` removes the partial file; both are no-ops once committed.
    """

    def __init__(self, final: str | Path, shared: bool = False):
        self.final = Path(final)
        self.direct = is_sink(self.final)
        self.path = self.final if self.direct else partial_path(self.final, shared)
        self.done = False

    def open(self, mode: str = "w", **kwargs: Any) -> IO:
        try:
            self.final.parent.mkdir(parents=True, exist_ok=True)
            return open(self.path, mode, **kwargs)  # noqa: SIM115 - closed by the caller through close_file
        except OSError as e:
            raise output_error(e, self.final) from None

    def close_file(self, f: IO) -> None:
        """Flush, fsync and close a file opened with `open`: a full disk is an OutputError here, not later."""
        try:
            f.flush()
            if not self.direct:
                os.fsync(f.fileno())
            f.close()
        except OSError as e:
            with suppress(OSError):
                f.close()
            self.discard()
            raise output_error(e, self.final) from None

    def seal(self, verify: Callable[[Path], None] | None = None) -> None:
        if self.direct:
            return
        try:
            fsync_file(self.path)
            if verify is not None:
                verify(self.path)
        except OutputError:
            self.discard()
            raise
        except OSError as e:
            self.discard()
            raise output_error(e, self.final) from None
        except BaseException:
            self.discard()
            raise

    def commit(self) -> None:
        if self.done:
            return
        self.done = True
        if self.direct:
            return
        try:
            os.replace(self.path, self.final)
        except OSError as e:
            self.path.unlink(missing_ok=True)
            raise output_error(e, self.final) from None
        fsync_folder(self.final.parent)

    def discard(self) -> None:
        if not self.done and not self.direct:
            with contextlib.suppress(OSError):  # cleanup must not hide the error that led here
                self.path.unlink(missing_ok=True)
        self.done = True


@contextmanager
def atomic_open(path: str | Path, mode: str = "w", shared: bool = False, **kwargs: Any) -> Iterator[IO]:
    """`with atomic_open(path) as f:` writes a partial file and renames it to `path` only when the block
    ends normally and the data is on disk. Any exception (Ctrl-C included) removes the partial file; a
    write error becomes an OutputError. FERErrors raised inside the block pass through unchanged.
    shared: see partial_path."""
    pending = PendingFile(path, shared)
    f = pending.open(mode, **kwargs)
    try:
        yield f
    except BaseException as e:
        with suppress(OSError):
            f.close()
        pending.discard()
        if isinstance(e, OSError) and not isinstance(e, OutputError) and e.errno is not None:
            raise output_error(e, pending.final) from None
        raise
    pending.close_file(f)
    pending.commit()


def write_atomically(path: str | Path, data: bytes | memoryview, shared: bool = False) -> None:
    """Write bytes whole or not at all (see atomic_open)."""
    with atomic_open(path, "wb", shared) as f:
        f.write(data)


def save_atomically(path: str | Path, write: Callable[[Path], None],
                    verify: Callable[[Path], None] | None = None) -> None:
    """For libraries that write to a path themselves (matplotlib, torch.save): `write(partial)`, fsync,
    optional `verify(partial)`, then rename. Any failure removes the partial file."""
    pending = PendingFile(path)
    try:
        pending.final.parent.mkdir(parents=True, exist_ok=True)
        write(pending.path)
    except OSError as e:
        pending.discard()
        if isinstance(e, OutputError):
            raise
        raise output_error(e, pending.final) from None
    except BaseException:
        pending.discard()
        raise
    pending.seal(verify)
    pending.commit()

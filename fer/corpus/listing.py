"""Which clips a corpus holds, and which of them a shard does.

A source is a folder (searched recursively for the project's video suffixes), a text file listing one
path a line (relative paths from the list's folder; blank lines and `#` comments skipped), or a glob
pattern. Each clip is named by its path relative to the corpus root, which is where its outputs go.
"""

from __future__ import annotations

import glob
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from fer.constants import VIDEO_SUFFIXES
from fer.errors import SourceError

LIST_SUFFIXES = (".txt", ".lst")
GLOB_CHARACTERS = "*?["


@dataclass(frozen=True)
class Clip:
    path: Path
    name: str  # relative to the corpus root, with "/" between folders: the key of every output


def is_corpus_source(source: str) -> bool:
    path = Path(source).expanduser()
    return path.is_dir() or path.suffix.lower() in LIST_SUFFIXES or any(c in source for c in GLOB_CHARACTERS)


def list_corpus(source: str) -> list[Clip]:
    """Every clip of the source, sorted by name."""
    path = Path(source).expanduser()
    if path.is_dir():
        files = [p for p in path.rglob("*") if p.suffix.lower() in VIDEO_SUFFIXES and p.is_file()]
        root = path
        what = f"no videos under {path} (looked for {', '.join(VIDEO_SUFFIXES)}, in every subfolder)"
    elif path.is_file() and path.suffix.lower() in LIST_SUFFIXES:
        files = list_file(path)
        root = common_folder(files)
        what = f"{path} lists no videos: write one path a line"
    elif any(c in source for c in GLOB_CHARACTERS):
        files = sorted(Path(p) for p in glob.glob(os.path.expanduser(source), recursive=True) if Path(p).is_file())
        root = common_folder(files)
        what = f"no file matches {source}"
    elif path.is_file():
        files, root, what = [path], path.parent, ""
    else:
        raise SourceError(f"source not found: {path}. Pass a video, a folder of videos, a .txt list of paths "
                          "or a glob pattern such as 'videos/**/*.mp4'")
    if not files:
        raise SourceError(what)
    clips = {p.relative_to(root).as_posix(): p for p in files}
    return [Clip(clips[name], name) for name in sorted(clips)]


def list_file(path: Path) -> list[Path]:
    try:
        lines = path.read_text().splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise SourceError(f"cannot read the list of videos {path}: {e}") from None
    entries = [line.strip() for line in lines if line.strip() and not line.strip().startswith("#")]
    return [Path(os.path.abspath(path.parent / Path(e).expanduser())) for e in entries]


def common_folder(files: list[Path]) -> Path:
    if not files:
        return Path(".")
    return Path(os.path.commonpath([os.path.abspath(p.parent) for p in files]))


def shard_of(name: str, num_shards: int) -> int:
    """A clip's shard from its name alone: the same on every machine and in every job, whatever else the
    corpus holds."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big") % num_shards

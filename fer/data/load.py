"""Find FER-2013 under a path, read it in whichever format it is, and cache the decoded tensors.

`load_cached` is the cache every reader shares (fer.data.datasets keys the other datasets into it).
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
from collections.abc import Callable, Sequence
from pathlib import Path

import torch

from fer.constants import CLASSES, DATA_HELP
from fer.data.csv_reader import read_csv
from fer.data.folder_reader import (
    decode_files,
    list_class_files,
    read_image_folder,
    skipped_note,
    split_test_by_prefix,
)
from fer.data.splits import EvalData, FERSplits, LabeledImages
from fer.errors import ConfigError, DataError, OutputError
from fer.outputs import save_atomically

log = logging.getLogger(__name__)

CACHE_VERSION = 2  # 2: truncated JPEGs are skipped, skipped files named in the notes


def resolve_source(root: str | os.PathLike) -> tuple[str, Path]:
    """Return ('folder', dir) or ('csv', file) for a path, or raise an error explaining both layouts."""
    path = Path(root).expanduser()
    if path.is_file() and path.suffix.lower() == ".csv":
        return "csv", path
    if path.is_dir():
        if (path / "train").is_dir() and any((path / "train").iterdir()):
            return "folder", path
        csvs = sorted(path.glob("*.csv"))
        preferred = [p for p in csvs if p.name == "fer2013.csv"] or csvs
        if preferred:
            return "csv", preferred[0]
        problem = f"{path} holds neither train/<class>/ image folders nor a fer2013.csv"
    else:
        problem = f"{path} does not exist"
    raise DataError(
        f"FER-2013 not found: {problem}.\nExpected one of two layouts:\n"
        f"  1. image folders: {path}/train/<class>/*.jpg and {path}/test/<class>/*.jpg "
        "(test files named PublicTest_* / PrivateTest_*)\n"
        f"  2. the original CSV: {path}/fer2013.csv with columns emotion,pixels,Usage\n"
        f"{DATA_HELP}"
    )


def fingerprint(kind: str, path: Path) -> str:
    """Cheap identity of the source: names, sizes and mtimes, so edits invalidate the cache."""
    h = hashlib.sha1(f"v{CACHE_VERSION}:{kind}:{path.resolve()}".encode())
    files = [path] if kind == "csv" else sorted(p for p in path.rglob("*") if p.is_file())
    for f in files:
        st = f.stat()
        h.update(f"{f.relative_to(path.parent)}:{st.st_size}:{st.st_mtime_ns}\n".encode())
    return h.hexdigest()[:16]


def read_source(kind: str, path: Path) -> FERSplits:
    if kind == "csv":
        parts = read_csv(path)
        notes = []
        val, test = parts["val"], parts["test"]
        if len(val) == 0 and len(test) > 0:
            notes.append("the CSV has no PublicTest rows, so PrivateTest is used for both val and test")
            val = test
        elif len(test) == 0 and len(val) > 0:
            notes.append("the CSV has no PrivateTest rows, so PublicTest is used for both val and test")
            test = val
        return FERSplits(parts["train"], val, test, source=str(path), notes=notes)
    train, val, test, skipped, notes = read_image_folder(path)
    return FERSplits(train, val, test, source=str(path), skipped=skipped, notes=notes)


def load_fer2013(root: str | os.PathLike, cache_dir: str | os.PathLike | None = None) -> FERSplits:
    """Decode FER-2013 once; later calls load the uint8 tensors from cache_dir in about a second.

    Several processes (DDP ranks, parallel sweep jobs) may ask at once: the first takes a lock and builds
    the cache, the others wait on the lock and then read the finished file.
    """
    kind, path = resolve_source(root)

    def read() -> FERSplits:
        splits = read_source(kind, path)
        if len(splits.train) == 0 and len(splits.val) == 0:
            raise DataError(f"FER-2013 at {path} contains no readable images.\n{DATA_HELP}")
        return splits

    cache_file = None if cache_dir is None else Path(cache_dir) / f"fer2013-{kind}-{fingerprint(kind, path)}.pt"
    return load_cached(cache_file, read, "FER-2013")


def load_cached(cache_file: Path | None, read: Callable[[], FERSplits], what: str) -> FERSplits:
    """`read()` once, saved to cache_file (None: no cache); later calls load the saved tensors."""
    if cache_file is None:
        return _decode(read, None)
    cache_file.parent.mkdir(parents=True, exist_ok=True)
    with open(cache_file.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if cache_file.is_file():
            try:
                splits = FERSplits(**_unpack(torch.load(cache_file, weights_only=True)))
                log.info("loaded decoded %s from cache %s", what, cache_file)
                _report(splits)
                return splits
            except Exception as err:  # a stale or truncated cache is rebuilt, not fatal
                log.warning("ignoring unreadable cache %s (%s)", cache_file, err)
        return _decode(read, cache_file)


def _decode(read: Callable[[], FERSplits], cache_file: Path | None) -> FERSplits:
    splits = read()
    if cache_file is not None:
        save_cache(splits, cache_file)
    _report(splits)
    return splits


def save_cache(splits: FERSplits, cache_file: Path) -> None:
    """Written beside and renamed into place (fer.outputs), so no reader ever sees half a file. Ctrl-C or
    a failed write removes the temporary file; a cache that cannot be written (a full disk) only costs
    the next run its decoding, so it is a warning, not an error."""
    try:
        save_atomically(cache_file, lambda tmp: torch.save(_pack(splits), tmp))
    except (OutputError, RuntimeError) as err:  # torch.save reports a failed write as a RuntimeError
        log.warning("could not write the data cache %s (%s); the data will be decoded again next time",
                    cache_file, err)


def _report(splits: FERSplits) -> None:
    for note in splits.notes:  # skipped files are named in a note (fer.data.folder_reader.skipped_note)
        log.warning(note)


def _pack(s: FERSplits) -> dict:
    out = {"source": s.source, "skipped": s.skipped, "notes": list(s.notes), "class_names": list(s.class_names),
           "val_fraction": s.val_fraction}
    for split in ("train", "val", "test"):
        out[f"{split}_images"], out[f"{split}_labels"] = s[split].images, s[split].labels
        if s[split].targets is not None:
            out[f"{split}_targets"] = s[split].targets
    return out


def _unpack(d: dict) -> dict:
    parts = {split: LabeledImages(d[f"{split}_images"], d[f"{split}_labels"], d.get(f"{split}_targets"))
             for split in ("train", "val", "test")}
    # Caches written before class_names were stored hold FER-2013, whose classes are CLASSES.
    return {**parts, "source": d["source"], "skipped": int(d["skipped"]), "notes": list(d["notes"]),
            "class_names": tuple(d.get("class_names", CLASSES)), "val_fraction": float(d.get("val_fraction", 0.0))}


def skipped_notes(skipped: list) -> list[str]:
    """The warning naming skipped files, logged now and kept with the evaluation's notes."""
    notes = [skipped_note(skipped)] if skipped else []
    for note in notes:
        log.warning(note)
    return notes


def has_class_folders(path: Path, class_names: Sequence[str] = CLASSES) -> bool:
    """True when `path` holds at least one folder named after one of class_names (in any case)."""
    names = {c.lower() for c in class_names}
    return path.is_dir() and any(p.is_dir() and p.name.lower() in names for p in path.iterdir())


def load_split(root: str | os.PathLike, split: str, cache_dir: str | os.PathLike | None = None,
               class_names: Sequence[str] = CLASSES) -> EvalData:
    """Only the faces one split needs, from any of three layouts.

    1. full FER-2013 (train/ + test/ folders, or the CSV): the split as training defines it (cached);
    2. a folder with only test/<class>/*: PublicTest is val, PrivateTest is test (by file-name prefix);
    3. any labelled folder <class>/*.jpg|png (a user's own photos, another dataset's test set): all of it.
    In layouts 2 and 3 the folders are named after class_names (the scored model's classes: a 3-class
    model is scored on angry/, happy/ and surprise/ alone), in 1 they are FER-2013's seven.
    Faces of any size or colour go through the same preprocessing as training.
    """
    if split not in ("train", "val", "test"):
        raise ConfigError(f"unknown split {split!r}; choose one of: train, val, test")
    path = Path(root).expanduser()
    try:
        resolve_source(path)
    except DataError:
        pass
    else:
        splits = load_fer2013(path, cache_dir)
        return EvalData(splits[split], splits.source, list(splits.notes))
    names = tuple(class_names)
    if (path / "test").is_dir() and has_class_folders(path / "test", names):
        if split == "train":
            raise DataError(f"{path} holds only test/ (no train/), so split=train cannot be scored; "
                            "use split=val (PublicTest) or split=test (PrivateTest)")
        images, paths, skipped = decode_files(list_class_files(path / "test", names))
        val, test, notes = split_test_by_prefix(images, paths)
        return EvalData(val if split == "val" else test, str(path), skipped_notes(skipped) + notes, len(skipped),
                        names)
    if has_class_folders(path, names):
        images, _, skipped = decode_files(list_class_files(path, names))
        note = f"{path} is a labelled folder (<class>/*.jpg): all {len(images)} faces are scored as split={split}"
        return EvalData(images, str(path), [*skipped_notes(skipped), note], len(skipped), names)
    raise DataError(
        f"no labelled faces found at {path}. Expected one of:\n"
        f"  1. FER-2013: {path}/train/<class>/*.jpg and {path}/test/<class>/*.jpg, or {path}/fer2013.csv\n"
        f"  2. only the test half: {path}/test/<class>/*.jpg (PublicTest_* / PrivateTest_*)\n"
        f"  3. any labelled folder: {path}/<class>/*.jpg|png with class folders named {', '.join(names)}"
    )

"""The one place a dataset name picks its reader: `load_dataset(name, root, ...)` -> FERSplits.

  fer2013    FER-2013, image folders or fer2013.csv (fer.data.load)
  folder     any train/<class>/* [val/<class>/*] [test/<class>/*] tree (fer.data.class_folders)
  ferplus    FER+ votes over the FER-2013 pixels, 8 classes, three label modes (fer.data.ferplus)
  rafdb      RAF-DB basic emotions (fer.data.rafdb)
  affectnet  AffectNet, manually annotated, 8 classes (fer.data.affectnet)

Every reader's result is cached like FER-2013's (fer.data.load.load_cached), keyed by its files and the
options that change what it returns.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from functools import partial
from pathlib import Path

from fer.constants import CLASSES, CLASSES_WITH_CONTEMPT
from fer.data.affectnet import CSV_FILES, read_affectnet
from fer.data.class_folders import read_class_folders
from fer.data.ferplus import find_files, read_ferplus
from fer.data.load import fingerprint, load_cached, load_fer2013
from fer.data.rafdb import LABELS_FILE, read_rafdb
from fer.data.shipped_conf import data_settings
from fer.data.splits import FERSplits
from fer.errors import ConfigError

DATASETS = ("fer2013", "folder", "ferplus", "rafdb", "affectnet")
# Class sets known before reading; a folder tree's classes are its folder names (read on load).
FIXED_CLASSES: dict[str, tuple[str, ...]] = {
    "fer2013": CLASSES, "ferplus": CLASSES_WITH_CONTEMPT, "rafdb": CLASSES, "affectnet": CLASSES_WITH_CONTEMPT,
}


# How a model's metadata names the data it was trained on (followed by where the files were).
TITLES = {
    "fer2013": "FER-2013 (research use only)",
    "folder": "a class-folder tree",
    "ferplus": "FER+ labels over FER-2013's faces (research use only)",
    "rafdb": "RAF-DB (see its terms of use)",
    "affectnet": "AffectNet (see its terms of use)",
}


def describe(name: str, source: str) -> str:
    """'FER-2013 (research use only) at /data/fer2013': what a checkpoint records of its training data."""
    return f"{TITLES[check_name(name)]} at {source}"


def check_name(name: str) -> str:
    if name not in DATASETS:
        raise ConfigError(f"unknown dataset data.name={name!r}; choose one of: {', '.join(DATASETS)}")
    return name


def known_class_names(name: str) -> tuple[str, ...] | None:
    """The dataset's classes when they do not depend on its files, else None."""
    return FIXED_CLASSES.get(check_name(name))


def _key(name: str, files: list[tuple[str, Path]], *options: object) -> str:
    """Cache file stem: the dataset, its files' fingerprints and the options that shape the result."""
    h = hashlib.sha1(repr(options).encode())
    for kind, path in files:
        h.update(fingerprint(kind, path).encode())
    return f"{name}-{h.hexdigest()[:16]}"


def load_dataset(name: str, root: str | os.PathLike, cache_dir: str | os.PathLike | None = None, *,
                 val_fraction: float | None = None, label_mode: str | None = None,
                 seed: int | None = None) -> FERSplits:
    """Read (or load from cache_dir) dataset `name` at `root`; options a dataset does not use are ignored.

    val_fraction and seed: the stratified share of train held out as val where the dataset has no val
    split (folder without val/, rafdb, affectnet); label_mode: FER+'s majority | probability | crossentropy.
    Each one not given is the shipped conf/data/<name>.yaml's.
    """
    if check_name(name) == "fer2013":
        return load_fer2013(root, cache_dir)
    shipped = data_settings(name)
    val_fraction = shipped["val_fraction"] if val_fraction is None else val_fraction
    seed = shipped["seed"] if seed is None else seed
    label_mode = shipped.get("label_mode") if label_mode is None else label_mode
    path = Path(root).expanduser()
    read: Callable[[], FERSplits]
    if name == "folder":
        read = partial(read_class_folders, path, val_fraction, seed)
        files = [("folder", path)] if path.is_dir() else []
        options: tuple = (val_fraction, seed)
    elif name == "ferplus":
        read = partial(read_ferplus, path, label_mode)
        files = [("csv", f) for f in find_files(path)]
        options = (label_mode,)
    elif name == "rafdb":
        read = partial(read_rafdb, path, val_fraction, seed)
        # Hashing the label list and the aligned images, not the whole release (original images too).
        files = [("csv", path / LABELS_FILE), ("folder", path / "Image" / "aligned")]
        files = [(k, f) for k, f in files if f.exists()]
        options = (val_fraction, seed)
    else:
        read = partial(read_affectnet, path, val_fraction, seed)
        # Only the CSVs: stat-ing every one of ~420k images would cost more than it guards against.
        files = [("csv", path / f) for f in CSV_FILES.values() if (path / f).is_file()]
        options = (val_fraction, seed)
    if cache_dir is None or not files:  # missing data: the reader raises its own message
        return load_cached(None, read, name)
    return load_cached(Path(cache_dir) / f"{_key(name, files, *options)}.pt", read, name)

"""Reader for any labelled image tree: root/train/<class>/*, optional root/val/<class>/* and root/test/<class>/*.

The class set is whatever class folders the tree holds, in sorted (code-point) order of their names:
`angry, happy, sad` gives indices 0, 1, 2 whatever the file system lists first. Images of any size or
colour become 48x48 gray faces as for FER-2013 (fer.data.preprocess.to_gray48). Without val/, a
stratified, seeded share of train/ is held out as val; without test/, val doubles as test (with a note).
"""

from __future__ import annotations

import logging
from pathlib import Path

from fer.constants import IMAGE_SUFFIXES
from fer.data.folder_reader import decode_files, empty_class_notes, skipped_note
from fer.data.holdout import hold_out_val, val_note
from fer.data.splits import FERSplits
from fer.errors import DataError

log = logging.getLogger(__name__)

SPLITS = ("train", "val", "test")


def class_dirs(split_dir: Path) -> list[Path]:
    return [p for p in split_dir.iterdir() if p.is_dir() and not p.name.startswith(".")] if split_dir.is_dir() else []


def find_class_names(root: Path) -> tuple[str, ...]:
    """Sorted names of the class folders of train/; val/ and test/ may hold only some of them."""
    names = sorted(p.name for p in class_dirs(root / "train"))
    if not names:
        raise DataError(
            f"no class folders in {root / 'train'}. Expected {root}/train/<class>/*.jpg|png (one folder per "
            f"class), optionally {root}/val/<class>/* and {root}/test/<class>/*"
        )
    for split in ("val", "test"):
        extra = sorted({p.name for p in class_dirs(root / split)} - set(names))
        if extra:
            raise DataError(f"{root / split} has class folder(s) {', '.join(extra)} that train/ lacks; "
                            f"train/ has: {', '.join(names)}")
    return tuple(names)


def list_files(split_dir: Path, class_names: tuple[str, ...]) -> list[tuple[Path, int]]:
    """(path, class index) of every image under split_dir/<class>/, sorted for determinism."""
    items: list[tuple[Path, int]] = []
    for label, name in enumerate(class_names):
        folder = split_dir / name
        if folder.is_dir():
            items += [(f, label) for f in sorted(folder.iterdir())
                      if f.suffix.lower() in IMAGE_SUFFIXES and not f.name.startswith(".")]
    return items


def read_class_folders(root: Path, val_fraction: float, seed: int) -> FERSplits:
    """Decode the tree; see the module docstring for the class order and the held-out val."""
    if not root.is_dir():
        raise DataError(f"{root} does not exist or is not a folder; data=folder needs "
                        "data.root=PATH holding train/<class>/* (and optionally val/ and test/)")
    names = find_class_names(root)
    parts, skipped, notes = {}, [], []
    for split in SPLITS:
        items = list_files(root / split, names)
        parts[split], _, bad = decode_files(items)
        skipped += bad
    log.info("decoded %s from %s: %d classes (%s)",
             ", ".join(f"{len(parts[s])} {s}" for s in SPLITS), root, len(names), ", ".join(names))
    if skipped:
        notes.append(skipped_note(skipped))
    if len(parts["train"]) == 0:
        raise DataError(f"{root / 'train'} holds no readable images (suffixes: {', '.join(IMAGE_SUFFIXES)})")
    notes += empty_class_notes(root / "train", names, parts["train"].class_counts(len(names)))
    held = 0.0
    if len(parts["val"]) == 0:
        parts["train"], parts["val"] = hold_out_val(parts["train"], val_fraction, seed)
        held = val_fraction
        notes.append(val_note(val_fraction, seed, len(parts["val"]), str(root)))
    if len(parts["test"]) == 0:
        parts["test"] = parts["val"]
        notes.append(f"{root} has no test/ images, so val is used for both val and test")
    return FERSplits(parts["train"], parts["val"], parts["test"], source=str(root), skipped=len(skipped),
                     notes=notes, class_names=names, val_fraction=held)

"""Reader for the image-folder layout: root/train/<class>/*.jpg and root/test/<class>/*.jpg."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np
import torch

from fer.constants import CLASSES, IMAGE_SIZE, IMAGE_SUFFIXES, SPLIT_PREFIXES
from fer.data.jpeg import truncated_jpeg
from fer.data.preprocess import to_gray48
from fer.data.splits import LabeledImages
from fer.errors import DataError

log = logging.getLogger(__name__)


def list_class_files(split_dir: Path, class_names: Sequence[str] = CLASSES) -> list[tuple[Path, int]]:
    """All (image path, class index) pairs under split_dir/<class>/, sorted for determinism; a folder's
    name (in any case) is its class, indexed in class_names (FER-2013's by default)."""
    index = {name.lower(): i for i, name in enumerate(class_names)}
    items: list[tuple[Path, int]] = []
    for class_dir in sorted(p for p in split_dir.iterdir() if p.is_dir() and not p.name.startswith(".")):
        name = class_dir.name.lower()
        if name not in index:
            whose = "FER-2013 class folders" if tuple(class_names) == CLASSES else "class folders (the model's classes)"
            raise DataError(f"unknown class folder {class_dir}: {whose} must be named one of "
                            f"{', '.join(class_names)}")
        items += [
            (f, index[name])
            for f in sorted(class_dir.iterdir())
            if f.suffix.lower() in IMAGE_SUFFIXES and not f.name.startswith(".")
        ]
    return items


NAMED_SKIPS = 5  # how many skipped files a warning names


def decode_file(path: Path) -> tuple[np.ndarray | None, str]:
    """(image, "") or (None, why it was skipped)."""
    try:
        data = path.read_bytes()
    except OSError as e:
        return None, e.strerror or "unreadable"
    if not data:
        return None, "empty file"
    if truncated_jpeg(data):
        return None, "truncated JPEG"
    raw = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if raw is None or raw.size == 0:
        return None, "not an image OpenCV can decode"
    return raw, ""


def skipped_note(skipped: list[tuple[Path, str]]) -> str:
    """One warning naming the first few skipped files and why."""
    named = "; ".join(f"{p} ({why})" for p, why in skipped[:NAMED_SKIPS])
    more = f"; and {len(skipped) - NAMED_SKIPS} more" if len(skipped) > NAMED_SKIPS else ""
    return f"skipped {len(skipped)} unreadable image file(s): {named}{more}"


def empty_class_notes(train_dir: Path, names: Sequence[str], counts: list[int],
                      advice: str = "add its images or remove the folder") -> list[str]:
    """A warning per class of train/ without a readable image: the class stays in the model's classes
    but is never trained on, and balanced class weighting gives it weight 0."""
    return [f"{train_dir / name}/ holds no readable images: the model gets class {name!r} but never learns it "
            f"(balanced class weighting gives it weight 0); {advice}"
            for name, count in zip(names, counts, strict=True) if count == 0]


def decode_files(items: list[tuple[Path, int]]) -> tuple[LabeledImages, list[Path], list[tuple[Path, str]]]:
    """Decode each file to 48x48 gray; unreadable or truncated files are skipped (path, reason), never fatal."""
    images, labels, kept = [], [], []
    skipped: list[tuple[Path, str]] = []
    for path, label in items:
        raw, why = decode_file(path)
        if raw is None:
            skipped.append((path, why))
            continue
        images.append(to_gray48(raw))
        labels.append(label)
        kept.append(path)
    if images:
        stacked = torch.from_numpy(np.stack(images))
    else:
        stacked = torch.empty(0, IMAGE_SIZE, IMAGE_SIZE, dtype=torch.uint8)
    return LabeledImages(stacked, torch.tensor(labels, dtype=torch.long)), kept, skipped


def split_test_by_prefix(test: LabeledImages, paths: list[Path]) -> tuple[LabeledImages, LabeledImages, list[str]]:
    """Split test/ into PublicTest (val) and PrivateTest (test) by file-name prefix.

    When only one of the two is present, it serves as both val and test, with a note saying so.
    """
    notes: list[str] = []
    masks = {
        split: torch.tensor([p.name.startswith(prefix) for p in paths], dtype=torch.bool)
        for split, prefix in SPLIT_PREFIXES.items()
    }
    if not paths:
        return test, test, notes
    val_mask, test_mask = masks["val"], masks["test"]
    other = ~(val_mask | test_mask)
    if val_mask.any() and test_mask.any():
        if other.any():
            notes.append(f"ignored {int(other.sum())} test/ files whose names start with neither "
                         "PublicTest_ nor PrivateTest_")
        return test.subset(val_mask.nonzero().squeeze(1)), test.subset(test_mask.nonzero().squeeze(1)), notes
    if val_mask.any() or test_mask.any():
        present = "PublicTest" if val_mask.any() else "PrivateTest"
        missing = "PrivateTest" if val_mask.any() else "PublicTest"
        notes.append(
            f"test/ holds only {present} files ({int((val_mask | test_mask).sum())}); no {missing} files were "
            f"found, so {present} is used for both val and test"
        )
        keep = (val_mask | test_mask).nonzero().squeeze(1)
        if other.any():
            notes.append(f"ignored {int(other.sum())} test/ files without a PublicTest_/PrivateTest_ prefix")
        part = test.subset(keep)
        return part, part, notes
    notes.append(
        "test/ file names carry no PublicTest_/PrivateTest_ prefix, so all of test/ is used for both val and test"
    )
    return test, test, notes


def read_image_folder(root: Path) -> tuple[LabeledImages, LabeledImages, LabeledImages, int, list[str]]:
    """Read root/train and root/test; returns train, val, test, skipped-file count and notes."""
    train_items = list_class_files(root / "train")
    test_items = list_class_files(root / "test") if (root / "test").is_dir() else []
    log.info("decoding %d train and %d test images from %s", len(train_items), len(test_items), root)
    train, _, skipped_train = decode_files(train_items)
    test_all, test_paths, skipped_test = decode_files(test_items)
    skipped = skipped_train + skipped_test
    notes: list[str] = [skipped_note(skipped)] if skipped else []  # cached with the data, repeated on reuse
    notes += empty_class_notes(root / "train", CLASSES, train.class_counts(len(CLASSES)),
                               "add its images, or train on the classes present with data=folder")
    if not test_items:
        notes.append(f"{root / 'test'} is missing or empty: val and test are empty")
    val, test, split_notes = split_test_by_prefix(test_all, test_paths)
    return train, val, test, len(skipped), notes + split_notes

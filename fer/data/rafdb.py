"""RAF-DB basic emotions in its published layout.

root/EmoLabel/list_patition_label.txt lists `train_00001.jpg 5` per line (labels 1-7 = Surprise, Fear,
Disgust, Happiness, Sadness, Anger, Neutral); the aligned 100x100 faces are
root/Image/aligned/train_00001_aligned.jpg. test_* files form the test split; RAF-DB has no val split,
so a stratified, seeded share of train is held out (data.val_fraction). The seven classes are FER-2013's,
so labels use the project's class order.
"""

from __future__ import annotations

from pathlib import Path

from fer.constants import CLASSES
from fer.data.folder_reader import decode_files, skipped_note
from fer.data.holdout import splits_with_held_out_val
from fer.data.splits import FERSplits
from fer.errors import DataError

LABELS_FILE = Path("EmoLabel") / "list_patition_label.txt"  # sic: the dataset's own spelling
IMAGES_DIR = Path("Image") / "aligned"
RAF_LABEL_TO_CLASS = ("surprise", "fear", "disgust", "happy", "sad", "angry", "neutral")  # labels 1..7
RAFDB_HELP = ("RAF-DB is released on request to researchers (http://www.whdeng.cn/raf/model1.html); point "
              "data.root (or the RAFDB_ROOT environment variable) at the folder holding EmoLabel/ and Image/aligned/")


def read_label_list(path: Path) -> list[tuple[str, str, int]]:
    """(split, file name, class index) per line; a malformed line raises DataError naming it."""
    rows = []
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        parts = line.split()
        if len(parts) != 2 or not parts[1].isdigit() or not 1 <= int(parts[1]) <= len(RAF_LABEL_TO_CLASS):
            raise DataError(f"{path}, line {number}: expected '<name>.jpg <label 1-7>', found {line.strip()!r}")
        name = parts[0]
        split = "train" if name.startswith("train_") else "test" if name.startswith("test_") else None
        if split is None:
            raise DataError(f"{path}, line {number}: {name} starts with neither train_ nor test_")
        rows.append((split, name, CLASSES.index(RAF_LABEL_TO_CLASS[int(parts[1]) - 1])))
    return rows


def aligned_path(root: Path, name: str) -> Path:
    stem, suffix = name.rsplit(".", 1) if "." in name else (name, "jpg")
    return root / IMAGES_DIR / f"{stem}_aligned.{suffix}"


def read_rafdb(root: str | Path, val_fraction: float, seed: int) -> FERSplits:
    path = Path(root).expanduser()
    labels_file = path / LABELS_FILE
    if not labels_file.is_file():
        where = f"{path} does not exist" if not path.is_dir() else f"{labels_file} is missing"
        raise DataError(f"RAF-DB not found: {where}. {RAFDB_HELP}")
    rows = read_label_list(labels_file)
    parts, skipped = {}, []
    for split in ("train", "test"):
        items = [(aligned_path(path, name), label) for s, name, label in rows if s == split]
        parts[split], _, bad = decode_files(items)
        skipped += bad
    notes = [skipped_note(skipped)] if skipped else []
    if len(parts["train"]) == 0:
        raise DataError(f"RAF-DB at {path}: none of the training faces in {path / IMAGES_DIR} could be read. {RAFDB_HELP}")
    return splits_with_held_out_val("RAF-DB", str(path), parts["train"], parts["test"], len(skipped), notes,
                                    CLASSES, val_fraction, seed)

"""AffectNet (manually annotated part) in its published CSV layout.

root/training.csv and root/validation.csv have the columns subDirectory_filePath, face_x, face_y,
face_width, face_height, facial_landmarks, expression, valence, arousal; the images live under
root/Manually_Annotated_Images/<subDirectory_filePath>. Expressions 0-7 are Neutral, Happy, Sad, Surprise,
Fear, Disgust, Anger, Contempt; 8-10 (None, Uncertain, Non-Face) are skipped and counted. Each face is cut
out by its face box (clipped to the image) and then preprocessed as FER-2013 (to_gray48).
AffectNet's test set is not public, so its validation.csv is the test split, as in the literature, and a
stratified, seeded share of training.csv is held out as val (data.val_fraction).
"""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import numpy as np
import torch

from fer.constants import CLASSES_WITH_CONTEMPT, IMAGE_SIZE
from fer.data.folder_reader import decode_file, skipped_note
from fer.data.holdout import splits_with_held_out_val
from fer.data.preprocess import to_gray48
from fer.data.splits import FERSplits, LabeledImages
from fer.errors import DataError

IMAGES_DIR = "Manually_Annotated_Images"
CSV_FILES = {"train": "training.csv", "test": "validation.csv"}
COLUMNS = ("subDirectory_filePath", "face_x", "face_y", "face_width", "face_height", "expression")
EXPRESSION_TO_CLASS = ("neutral", "happy", "sad", "surprise", "fear", "disgust", "angry", "contempt")  # 0..7
NOT_EMOTIONS = {8: "None", 9: "Uncertain", 10: "Non-Face"}
AFFECTNET_HELP = ("AffectNet is released on request to researchers (http://mohammadmahoor.com/affectnet/); point "
                  f"data.root (or the AFFECTNET_ROOT environment variable) at the folder holding training.csv, "
                  f"validation.csv and {IMAGES_DIR}/")


def crop_box(image: np.ndarray, x: int, y: int, w: int, h: int) -> np.ndarray | None:
    """The face box clipped to the image, or None when nothing of it lies inside."""
    x0, y0 = max(x, 0), max(y, 0)
    x1, y1 = min(x + w, image.shape[1]), min(y + h, image.shape[0])
    return image[y0:y1, x0:x1] if x1 > x0 and y1 > y0 else None


def read_split(path: Path, images_dir: Path) -> tuple[LabeledImages, Counter, list[tuple[Path, str]]]:
    """Faces of one CSV, the count of rows skipped per non-emotion label, and the unreadable files."""
    faces, labels, not_emotion = [], [], Counter[str]()
    skipped: list[tuple[Path, str]] = []
    with open(path, newline="") as f:
        reader = csv.DictReader(f)
        missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise DataError(f"{path}, line 1: not an AffectNet CSV; missing column(s) {', '.join(missing)}")
        for row in reader:
            try:
                expression = int(row["expression"])
                box = [int(float(row[c])) for c in ("face_x", "face_y", "face_width", "face_height")]
            except (TypeError, ValueError):
                raise DataError(f"{path}, line {reader.line_num}: expression and the face box must be numbers") from None
            if expression in NOT_EMOTIONS:
                not_emotion[NOT_EMOTIONS[expression]] += 1
                continue
            if not 0 <= expression < len(EXPRESSION_TO_CLASS):
                raise DataError(f"{path}, line {reader.line_num}: expression {expression} is outside 0-10")
            file = images_dir / row["subDirectory_filePath"]
            raw, why = decode_file(file)
            face = crop_box(raw, *box) if raw is not None else None
            if face is None:
                skipped.append((file, why or "face box outside the image"))
                continue
            faces.append(to_gray48(face))
            labels.append(CLASSES_WITH_CONTEMPT.index(EXPRESSION_TO_CLASS[expression]))
    images = torch.from_numpy(np.stack(faces)) if faces else torch.empty(0, IMAGE_SIZE, IMAGE_SIZE, dtype=torch.uint8)
    return LabeledImages(images, torch.tensor(labels, dtype=torch.long)), not_emotion, skipped


def read_affectnet(root: str | Path, val_fraction: float, seed: int) -> FERSplits:
    path = Path(root).expanduser()
    missing = [name for name in CSV_FILES.values() if not (path / name).is_file()]
    if missing:
        where = f"{path} does not exist" if not path.is_dir() else f"{path} lacks {' and '.join(missing)}"
        raise DataError(f"AffectNet not found: {where}. {AFFECTNET_HELP}")
    parts, notes, skipped = {}, [], []
    for split, name in CSV_FILES.items():
        parts[split], not_emotion, bad = read_split(path / name, path / IMAGES_DIR)
        skipped += bad
        if not_emotion:
            counts = ", ".join(f"{n} {label}" for label, n in sorted(not_emotion.items()))
            notes.append(f"AffectNet {name}: skipped {sum(not_emotion.values())} rows without an emotion ({counts})")
    if skipped:
        notes.insert(0, skipped_note(skipped))
    if len(parts["train"]) == 0:
        raise DataError(f"AffectNet at {path}: no training face could be read from {path / IMAGES_DIR}. {AFFECTNET_HELP}")
    return splits_with_held_out_val("AffectNet", str(path), parts["train"], parts["test"], len(skipped), notes,
                                    CLASSES_WITH_CONTEMPT, val_fraction, seed)

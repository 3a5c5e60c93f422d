"""Datasets beyond FER-2013 in their published layouts, each as a small synthetic copy made in the test:
any class-folder tree, FER+ (three label modes; the real votes when FERPLUS_VOTES points at them),
RAF-DB and AffectNet; the one dispatch by data.name, the shared cache and the Hydra configs."""

from __future__ import annotations

import csv
import logging
import os
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from fer.constants import CLASSES, CLASSES_WITH_CONTEMPT
from fer.data.datamodule import FERDataModule
from fer.data.datasets import DATASETS, load_dataset
from fer.data.ferplus import VOTE_COLUMNS, label_faces, read_ferplus, read_votes
from fer.data.load import fingerprint, load_fer2013, resolve_source
from fer.errors import ConfigError, DataError
from tests.conftest import CONF_DIR

# ---------------------------------------------------------------- any class-folder tree


def write_images(folder: Path, n: int, value: int, shape=(64, 80, 3), suffix=".png") -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        cv2.imwrite(str(folder / f"{i:03d}{suffix}"), np.full(shape, value, np.uint8))


def make_tree(root: Path, splits=("train", "val", "test"), counts=None) -> Path:
    """Three classes whose names sort differently from their creation order; colour and odd sizes."""
    counts = counts or {"train": 10, "val": 3, "test": 2}
    for value, name in ((200, "zebra"), (20, "Apple"), (120, "mango")):
        for split in splits:
            write_images(root / split / name, counts[split], value,
                         shape=(64, 80, 3) if name != "mango" else (30, 30), suffix=".png" if value > 100 else ".jpg")
    return root


def test_folder_tree_classes_in_sorted_order_and_faces_as_fer2013(tmp_path):
    s = load_dataset("folder", make_tree(tmp_path / "faces"))
    assert s.class_names == ("Apple", "mango", "zebra")  # code-point order: upper case first
    assert (len(s.train), len(s.val), len(s.test)) == (30, 9, 6)
    assert s.train.images.shape[1:] == (48, 48) and s.train.images.dtype == torch.uint8
    assert s.train.class_counts(3) == [10, 10, 10] and s.val_fraction == 0.0 and not s.notes
    # Every image of a class is its flat grey, whatever its size or colour.
    for label, grey in enumerate((20, 120, 200)):
        assert abs(s.train.images[s.train.labels == label].float().mean().item() - grey) < 2


def test_folder_tree_without_val_holds_out_a_stratified_seeded_share(tmp_path, caplog):
    root = make_tree(tmp_path / "faces", splits=("train", "test"))
    with caplog.at_level(logging.INFO):
        s = load_dataset("folder", root, val_fraction=0.2, seed=3)
    assert s.val_fraction == 0.2 and "held out as val" in caplog.text and "held out as val" in s.notes[0]
    assert s.val.class_counts(3) == [2, 2, 2] and s.train.class_counts(3) == [8, 8, 8]
    again = load_dataset("folder", root, val_fraction=0.2, seed=3)
    assert torch.equal(again.val.images, s.val.images)
    assert "stratified 20%" in s.summary()
    with pytest.raises(ConfigError, match="val_fraction"):
        load_dataset("folder", root, val_fraction=1.5)


def test_folder_tree_without_test_uses_val_with_a_note(tmp_path):
    s = load_dataset("folder", make_tree(tmp_path / "faces", splits=("train", "val")))
    assert len(s.test) == len(s.val) == 9 and any("no test/" in n for n in s.notes)


@pytest.mark.parametrize("layout, message", [
    ("missing", "does not exist"),
    ("no classes", "no class folders"),
    ("extra val class", "that train/ lacks"),
    ("no images", "no readable images"),
])
def test_folder_tree_mistakes_are_one_data_error(tmp_path, layout, message):
    root = tmp_path / "faces"
    if layout != "missing":
        (root / "train").mkdir(parents=True)
    if layout == "extra val class":
        write_images(root / "train" / "a", 2, 10)
        write_images(root / "val" / "b", 2, 10)
    if layout == "no images":
        (root / "train" / "a").mkdir()
    with pytest.raises(DataError, match=message):
        load_dataset("folder", root)


def test_folder_tree_through_the_cache(tmp_path, caplog):
    root, cache = make_tree(tmp_path / "faces", splits=("train",)), tmp_path / "cache"
    first = load_dataset("folder", root, cache, val_fraction=0.3)
    with caplog.at_level(logging.INFO):
        second = load_dataset("folder", root, cache, val_fraction=0.3)
    assert "from cache" in caplog.text
    assert second.class_names == first.class_names and second.val_fraction == 0.3
    assert torch.equal(first.val.images, second.val.images)
    load_dataset("folder", root, cache, val_fraction=0.2)  # another option, another cache file
    assert len(list(cache.glob("folder-*.pt"))) == 2


def test_fer2013_keeps_its_reader_and_cache_key(folder_dataset, tmp_path):
    cache = tmp_path / "cache"
    s = load_dataset("fer2013", folder_dataset, cache)
    kind, path = resolve_source(folder_dataset)
    assert [p.name for p in cache.glob("*.pt")] == [f"fer2013-{kind}-{fingerprint(kind, path)}.pt"]
    plain = load_fer2013(folder_dataset)
    assert torch.equal(s.train.images, plain.train.images) and s.class_names == CLASSES
    assert s.train.targets is None and s.val_fraction == 0.0


def test_a_fer2013_cache_written_before_class_names_were_stored_still_loads(folder_dataset, tmp_path):
    cache = tmp_path / "cache"
    load_fer2013(folder_dataset, cache)
    (cache_file,) = cache.glob("*.pt")
    packed = torch.load(cache_file, weights_only=True)
    for key in ("class_names", "val_fraction"):
        del packed[key]
    torch.save(packed, cache_file)
    s = load_fer2013(folder_dataset, cache)
    assert s.class_names == CLASSES and s.val_fraction == 0.0 and len(s.train) == 42


# ---------------------------------------------------------------- dispatch and DataModule


def test_unknown_dataset_name_lists_the_choices():
    with pytest.raises(ConfigError, match="choose one of: fer2013, folder, ferplus, rafdb, affectnet"):
        FERDataModule(root=".", name="fer2014")


def test_datamodule_exposes_the_class_set_of_a_folder_tree(tmp_path):
    dm = FERDataModule(root=str(make_tree(tmp_path / "faces")), name="folder", batch_size=4, augment={"mode": "none"})
    assert dm.class_names == ("Apple", "mango", "zebra") and dm.num_classes == 3
    images, labels = next(iter(dm.train_dataloader()))
    assert images.shape == (4, 1, 48, 48) and int(labels.max()) < 3
    assert dm.class_weights().shape == (3,)


def test_an_empty_train_class_folder_is_a_warning_naming_it(tmp_path, caplog):
    """The class would be trained with weight 0 and never predicted: said at once, and again from the cache."""
    root = make_tree(tmp_path / "faces")
    for f in (root / "train" / "mango").iterdir():
        f.unlink()
    dm = FERDataModule(root=str(root), cache_dir=str(tmp_path / "cache"), name="folder", augment={"mode": "none"})
    with caplog.at_level(logging.WARNING):
        weights = dm.class_weights()
    assert dm.class_names == ("Apple", "mango", "zebra") and weights[1] == 0 and weights[0] > 0
    warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any(f"{root / 'train' / 'mango'}/ holds no readable images" in m and "weight 0" in m for m in warned)
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        load_dataset("folder", root, tmp_path / "cache")
    assert "'mango' but never learns it" in caplog.text


def test_fer2013_folders_without_a_class_warn_too(folder_dataset, tmp_path, caplog):
    for f in (folder_dataset / "train" / "disgust").iterdir():
        f.unlink()
    with caplog.at_level(logging.WARNING):
        load_dataset("fer2013", folder_dataset)
    assert "train/disgust/ holds no readable images" in caplog.text and "data=folder" in caplog.text


def test_datamodule_knows_fixed_class_sets_before_reading():
    assert FERDataModule(root="/nowhere", name="ferplus").class_names == CLASSES_WITH_CONTEMPT
    assert FERDataModule(root="/nowhere").class_names == CLASSES


@pytest.mark.parametrize("name", DATASETS)
def test_each_data_config_builds_a_datamodule(name, monkeypatch):
    for var in ("FERPLUS_ROOT", "RAFDB_ROOT", "AFFECTNET_ROOT"):
        monkeypatch.delenv(var, raising=False)
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose("train", overrides=[f"data={name}"])
    data = OmegaConf.to_container(cfg.data, resolve=True)
    dm = FERDataModule(**data)
    assert dm.dataset == name and data["batch_size"] == 64  # the rest is FER-2013's
    if name in ("ferplus", "rafdb", "affectnet"):
        assert data["root"].endswith(f"/{name}")
        with pytest.raises(DataError, match="not found") as err:
            dm.setup()
        assert "\n" not in str(err.value)  # one line, saying where to get the data


# ---------------------------------------------------------------- FER+


def votes_row(usage: str, name: str, **votes: int) -> list:
    return [usage, name, *[votes.get(c, 0) for c in VOTE_COLUMNS]]


# One face per case of the label modes (columns: neutral happiness surprise sadness anger disgust fear contempt
# unknown NF). Comments give the outcome in majority mode.
CASES = [
    votes_row("Training", "fer0.png", happiness=8, neutral=2),          # happy
    votes_row("Training", "fer1.png", sadness=4, anger=3, fear=3),      # no majority (4 of 10)
    votes_row("Training", "fer2.png", contempt=6, neutral=3, fear=1),   # contempt (the single fear vote goes)
    votes_row("Training", "fer3.png", unknown=6, neutral=4),            # unknown
    votes_row("Training", "", NF=10),                                   # not a face (blank name)
    votes_row("Training", "fer5.png", NF=5, happiness=3, neutral=2),    # not a face (NF most voted)
    votes_row("PublicTest", "fer6.png", surprise=5, fear=5),            # no majority (5 of 10 is not > half)
    votes_row("PrivateTest", "fer7.png", neutral=9, happiness=1),       # neutral
]


def make_ferplus(root: Path, rows=CASES, usages=None) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    with open(root / "fer2013new.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["Usage", "Image name", *VOTE_COLUMNS])
        w.writerows(rows)
    lines = ["emotion,pixels,Usage"]
    for i, row in enumerate(rows):
        lines.append(f"0,{' '.join([str(10 * i)] * 2304)},{(usages or {}).get(i, row[0])}")
    (root / "fer2013.csv").write_text("\n".join(lines) + "\n")
    return root


def test_ferplus_majority_keeps_faces_with_a_clear_majority(tmp_path, caplog):
    with caplog.at_level(logging.INFO):
        s = read_ferplus(make_ferplus(tmp_path / "ferplus"), "majority")
    assert s.class_names == CLASSES_WITH_CONTEMPT and len(s.class_names) == 8
    assert [CLASSES_WITH_CONTEMPT[i] for i in s.train.labels] == ["happy", "contempt"]
    assert s.train.images[:, 0, 0].tolist() == [0, 20]  # the pixels of rows 0 and 2, in row order
    assert len(s.val) == 0 and [CLASSES_WITH_CONTEMPT[i] for i in s.test.labels] == ["neutral"]
    assert s.train.targets is None
    assert ("train 2 of 6 kept (dropped: 2 not a face, 1 unknown, 1 no majority); val 0 of 1 kept "
            "(dropped: 1 no majority); test 1 of 1 kept") in caplog.text


@pytest.mark.parametrize("mode", ["probability", "crossentropy"])
def test_ferplus_soft_modes_carry_the_vote_distribution(tmp_path, mode):
    s = read_ferplus(make_ferplus(tmp_path / "ferplus"), mode)
    assert (len(s.train), len(s.val), len(s.test)) == (3, 1, 1)  # only unknown and not-a-face faces go
    t = s.train.targets
    assert t.shape == (3, 8) and torch.allclose(t.sum(1), torch.ones(3))
    idx = CLASSES_WITH_CONTEMPT.index
    assert t[0, idx("happy")] == pytest.approx(0.8) and t[0, idx("neutral")] == pytest.approx(0.2)
    assert t[1, idx("sad")] == pytest.approx(0.4) and t[1, idx("angry")] == pytest.approx(0.3)
    assert t[2, idx("fear")] == 0 and t[2, idx("contempt")] == pytest.approx(2 / 3)  # the single vote is gone
    assert torch.equal(s.train.labels, t.argmax(1))
    # A 5-5 tie goes to the first column of fer2013new.csv (surprise before fear).
    assert s.val.labels.tolist() == [idx("surprise")] and s.val.targets[0, idx("fear")] == pytest.approx(0.5)
    assert s.train.subset(torch.tensor([2])).targets.shape == (1, 8)  # subsets keep their targets


def test_ferplus_soft_targets_survive_the_cache(tmp_path):
    root, cache = make_ferplus(tmp_path / "ferplus"), tmp_path / "cache"
    first = load_dataset("ferplus", root, cache, label_mode="probability")
    second = load_dataset("ferplus", root, cache, label_mode="probability")
    assert torch.equal(first.train.targets, second.train.targets)
    assert load_dataset("ferplus", root, cache, label_mode="majority").train.targets is None


def test_ferplus_mistakes(tmp_path):
    with pytest.raises(DataError, match="lacks fer2013.csv and fer2013new.csv.*github.com/microsoft/FERPlus"):
        read_ferplus(tmp_path)
    with pytest.raises(DataError, match="line 3: Usage differs from row 2"):
        read_ferplus(make_ferplus(tmp_path / "a", usages={1: "PublicTest"}))
    root = make_ferplus(tmp_path / "b")
    (root / "fer2013.csv").write_text("\n".join((root / "fer2013.csv").read_text().splitlines()[:-1]) + "\n")
    with pytest.raises(DataError, match="has 7 rows but fer2013new.csv 8"):
        read_ferplus(root)
    with pytest.raises(ConfigError, match="majority, probability, crossentropy"):
        read_ferplus(make_ferplus(tmp_path / "c"), "vote")
    root = make_ferplus(tmp_path / "d")
    text = (root / "fer2013.csv").read_text().replace("0 0 0", "0 0 0 0", 1)
    (root / "fer2013.csv").write_text(text)
    with pytest.raises(DataError, match="line 2: expected 2304 pixels"):
        read_ferplus(root)


@pytest.fixture(scope="module")
def real_votes() -> Path:
    path = os.environ.get("FERPLUS_VOTES")
    if not path or not Path(path).is_file():
        pytest.skip("set FERPLUS_VOTES to the real fer2013new.csv to run this test")
    return Path(path)


# The real FER+ counts (fer2013new.csv, 35,887 rows); kept + dropped = the split's rows in every mode.
REAL_ROWS = {"train": 28709, "val": 3589, "test": 3589}
REAL_KEPT = {"majority": {"train": 25060, "val": 3199, "test": 3153},
             "probability": {"train": 28389, "val": 3553, "test": 3546}}
REAL_NOT_FACE, REAL_UNKNOWN = {"train": 150, "val": 11, "test": 16}, {"train": 170, "val": 25, "test": 27}


def test_real_ferplus_votes_with_made_up_pixels(real_votes, tmp_path):
    root = tmp_path / "ferplus"
    root.mkdir()
    (root / "fer2013new.csv").symlink_to(real_votes)
    with open(real_votes, newline="") as f:
        usages = [row["Usage"] for row in csv.DictReader(f)]
    pixels = " ".join(["0"] * 2304)
    with open(root / "fer2013.csv", "w") as f:
        f.write("emotion,pixels,Usage\n")
        f.writelines(f"0,{pixels},{u}\n" for u in usages)
    s = read_ferplus(root, "majority")
    assert {k: len(s[k]) for k in REAL_ROWS} == REAL_KEPT["majority"]
    votes = read_votes(real_votes)
    assert len(votes.splits) == 35887 and {k: votes.splits.count(k) for k in REAL_ROWS} == REAL_ROWS
    splits = np.array(votes.splits)
    for mode in ("majority", "probability", "crossentropy"):
        labelled = label_faces(votes, mode)
        dropped = np.zeros(len(splits), bool)
        for mask in labelled.dropped.values():
            assert not (mask & dropped).any()  # each face is dropped for one reason only
            dropped |= mask
        assert not (dropped & labelled.keep).any() and (dropped | labelled.keep).all()
        for split, rows in REAL_ROWS.items():
            in_split = splits == split
            assert int((labelled.keep & in_split).sum()) == REAL_KEPT.get(mode, REAL_KEPT["probability"])[split]
            assert int((labelled.dropped["not a face"] & in_split).sum()) == REAL_NOT_FACE[split]
            assert int((labelled.dropped["unknown"] & in_split).sum()) == REAL_UNKNOWN[split]
            assert int((labelled.keep & in_split).sum()) + int((dropped & in_split).sum()) == rows
        if labelled.targets is not None:
            t = labelled.targets
            assert np.allclose(t.sum(1), 1)
            assert (t[np.arange(len(t)), labelled.labels] == t.max(1)).all()  # a most voted class (ties: column order)
    # The majority label agrees with the soft modes' most voted emotion wherever both keep the face.
    soft, hard = label_faces(votes, "probability"), label_faces(votes, "majority")
    assert (soft.labels[hard.keep[soft.keep]] == hard.labels).all()


# ---------------------------------------------------------------- RAF-DB


def make_rafdb(root: Path, per_class: int = 4, n_test: int = 1, missing: str | None = None) -> Path:
    (root / "EmoLabel").mkdir(parents=True)
    (root / "Image" / "aligned").mkdir(parents=True)
    lines = []
    for label in range(1, 8):
        for split, n in (("train", per_class), ("test", n_test)):
            for i in range(n):
                name = f"{split}_{label}{i:04d}.jpg"
                lines.append(f"{name} {label}")
                if name != missing:
                    cv2.imwrite(str(root / "Image" / "aligned" / name.replace(".jpg", "_aligned.jpg")),
                                np.full((100, 100, 3), 30 * label, np.uint8))
    (root / "EmoLabel" / "list_patition_label.txt").write_text("\n".join(lines) + "\n")
    return root


def test_rafdb_maps_its_labels_to_the_project_classes(tmp_path):
    s = load_dataset("rafdb", make_rafdb(tmp_path / "raf"), val_fraction=0.25)
    assert s.class_names == CLASSES and (len(s.train), len(s.val), len(s.test)) == (21, 7, 7)
    assert s.val_fraction == 0.25 and s.val.class_counts() == [1] * 7
    # RAF-DB label 4 is Happiness (grey 120 here), 7 is Neutral (grey 210).
    for raf_label, name in ((4, "happy"), (7, "neutral"), (1, "surprise"), (6, "angry")):
        faces = s.test.images[s.test.labels == CLASSES.index(name)]
        assert abs(faces.float().mean().item() - 30 * raf_label) < 2


def test_rafdb_missing_file_is_skipped_and_named(tmp_path):
    s = load_dataset("rafdb", make_rafdb(tmp_path / "raf", missing="train_30001.jpg"))
    assert s.skipped == 1 and "train_30001_aligned.jpg" in s.notes[0]
    assert len(s.train) + len(s.val) == 27


def test_rafdb_mistakes(tmp_path):
    with pytest.raises(DataError, match="RAF-DB not found.*RAFDB_ROOT"):
        load_dataset("rafdb", tmp_path / "nothing")
    root = make_rafdb(tmp_path / "raf")
    (root / "EmoLabel" / "list_patition_label.txt").write_text("train_00001.jpg 9\n")
    with pytest.raises(DataError, match="line 1: expected '<name>.jpg <label 1-7>'"):
        load_dataset("rafdb", root)


# ---------------------------------------------------------------- AffectNet

AFFECTNET_COLUMNS = ["subDirectory_filePath", "face_x", "face_y", "face_width", "face_height", "facial_landmarks",
                     "expression", "valence", "arousal"]


def make_affectnet(root: Path, per_class: int = 3) -> Path:
    """Each image is dark with a bright face box whose grey encodes the expression; 8-10 rows too."""
    images = root / "Manually_Annotated_Images" / "1"
    images.mkdir(parents=True)
    for csv_name, n in (("training.csv", per_class), ("validation.csv", 1)):
        with open(root / csv_name, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(AFFECTNET_COLUMNS)
            for expression in range(11):
                for i in range(n):
                    name = f"{csv_name[0]}{expression}_{i}.jpg"
                    img = np.zeros((120, 160, 3), np.uint8)
                    img[20:100, 40:120] = 20 * (expression + 1)
                    cv2.imwrite(str(images / name), img)
                    w.writerow([f"1/{name}", 40, 20, 80, 80, "1;2", expression, 0.1, -0.2])
    return root


def test_affectnet_crops_by_the_face_box_and_skips_non_emotions(tmp_path, caplog):
    with caplog.at_level(logging.WARNING):
        s = load_dataset("affectnet", make_affectnet(tmp_path / "an", per_class=4), val_fraction=0.25)
    assert s.class_names == CLASSES_WITH_CONTEMPT
    assert (len(s.train), len(s.val), len(s.test)) == (24, 8, 8)
    assert s.test.class_counts(8) == [1] * 8
    # AffectNet 7 is Contempt, 6 Anger; the crop holds only the bright box.
    for expression, name in ((7, "contempt"), (6, "angry"), (0, "neutral"), (1, "happy")):
        faces = s.test.images[s.test.labels == CLASSES_WITH_CONTEMPT.index(name)]
        assert abs(faces.float().mean().item() - 20 * (expression + 1)) < 2
    assert "training.csv: skipped 12 rows without an emotion (4 Non-Face, 4 None, 4 Uncertain)" in caplog.text


def test_affectnet_absent_and_box_outside_the_image(tmp_path):
    with pytest.raises(DataError, match="AffectNet not found.*lacks training.csv and validation.csv"):
        load_dataset("affectnet", tmp_path)
    root = make_affectnet(tmp_path / "an")
    text = (root / "training.csv").read_text().replace("1/t0_0.jpg,40,20", "1/t0_0.jpg,400,20")
    (root / "training.csv").write_text(text)
    s = load_dataset("affectnet", root)
    assert s.skipped == 1 and "face box outside the image" in s.notes[0]

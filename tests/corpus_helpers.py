"""A small corpus cut from the shared clips (skipped without FER_MEDIA), with a damaged and a non-video file."""

from __future__ import annotations

import shutil
from pathlib import Path

import cv2
from live_helpers import MEDIA, media

from fer.corpus.records import RECORDS


def cut(source: Path, target: Path, frames: int, fourcc: str = "mp4v", width: int = 640) -> Path:
    """The first `frames` frames of `source`, `width` pixels wide."""
    capture = cv2.VideoCapture(str(source))
    fps = capture.get(cv2.CAP_PROP_FPS) or 25
    writer = None
    target.parent.mkdir(parents=True, exist_ok=True)
    for _ in range(frames):
        ok, frame = capture.read()
        if not ok:
            break
        frame = cv2.resize(frame, (width, round(frame.shape[0] * width / frame.shape[1])))
        if writer is None:
            writer = cv2.VideoWriter(str(target), cv2.VideoWriter_fourcc(*fourcc), fps, frame.shape[1::-1])
        writer.write(frame)
    writer.release()
    capture.release()
    return target


def damage(path: Path) -> Path:
    """Zero the middle third: the container still announces every frame, the decoder stops early."""
    data = bytearray(path.read_bytes())
    third = len(data) // 3
    data[third:2 * third] = bytes(third)
    path.write_bytes(bytes(data))
    return path


def make_corpus(root: Path, frames: int = 40) -> Path:
    """root/a/one.mp4, root/a/b/two.avi, root/three.mp4, root/damaged.avi (incomplete), root/broken.mp4 (not a
    video) and root/notes.txt (no video suffix: not part of the corpus)."""
    assert MEDIA is not None
    cut(media("single_face.mp4"), root / "a" / "one.mp4", frames)
    cut(media("WolfgangLanger_Pexels.mp4"), root / "a" / "b" / "two.avi", frames, fourcc="MJPG")
    cut(media("no_face.mp4"), root / "three.mp4", frames // 2)
    damage(cut(media("WolfgangLanger_Pexels.mp4"), root / "damaged.avi", frames, fourcc="MJPG", width=320))
    (root / "broken.mp4").write_text("this is not a video")
    (root / "notes.txt").write_text("not a video either")
    return root


def outputs(out: Path) -> dict[str, bytes]:
    """Every CSV of a corpus output by its relative path (the summary aside)."""
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*.csv"))
            if p.name != "summary.csv" and RECORDS not in p.parts and ".partial" not in p.name}


def partials(out: Path) -> list[str]:
    return sorted(p.name for p in out.rglob("*") if ".partial" in p.name)


def summary_without_times(out: Path) -> list[list[str]]:
    """summary.csv's rows without wall_s, the one column that depends on the machine."""
    import csv

    with (out / "summary.csv").open() as f:
        rows = list(csv.reader(f))
    drop = rows[0].index("wall_s")
    return [row[:drop] + row[drop + 1:] for row in rows]


def copy_corpus(source: Path, target: Path) -> Path:
    shutil.copytree(source, target)
    return target

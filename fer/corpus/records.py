"""One record per clip, OUT/.records/<clip>.json: written only after the clip's CSV is in place, it is
what makes a clip done. A rerun skips a clip whose record matches the source file (size, mtime) and
the run's fingerprint, and the summary is rebuilt from the records alone."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from fer.corpus.listing import Clip
from fer.outputs import write_atomically

RECORDS = ".records"
DONE = ("ok", "incomplete")  # a failed clip is tried again by the next run


@dataclass
class ClipRecord:
    name: str
    status: str  # ok | incomplete (the video ended before the frames it announces) | failed
    reason: str = ""
    source_size: int = 0
    source_mtime_ns: int = 0
    fingerprint: str = ""
    fps: float = 0.0
    duration_s: float = 0.0
    frames_announced: int | None = None
    frames_read: int = 0
    frames_analysed: int = 0
    faces: int = 0  # face-frames: the CSV's rows
    tracks: int = 0
    wall_s: float = 0.0
    labels: dict[str, int] = field(default_factory=dict)  # face-frames per label
    csv: str = ""  # relative to OUT; empty for a failed clip

    @classmethod
    def from_dict(cls, data: dict) -> ClipRecord:
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


def source_stamp(path: Path) -> tuple[int, int]:
    st = os.stat(path)
    return st.st_size, st.st_mtime_ns


def csv_name(clip: Clip) -> str:
    """The clip's CSV mirrors its place in the corpus; the video's suffix stays in the name so that
    a.mp4 and a.avi never share one."""
    return f"{clip.name}.csv"


def record_path(out: Path, name: str) -> Path:
    return out / RECORDS / f"{name}.json"


def write_record(out: Path, record: ClipRecord) -> None:
    write_atomically(record_path(out, record.name), (json.dumps(asdict(record), sort_keys=True) + "\n").encode())


def read_record(out: Path, name: str) -> ClipRecord | None:
    try:
        return ClipRecord.from_dict(json.loads(record_path(out, name).read_text()))
    except (OSError, ValueError, TypeError):
        return None  # missing or unreadable (never half-written: records are renamed into place)


def is_current(record: ClipRecord, clip: Clip, fingerprint: str) -> bool:
    """Made with this fingerprint from the file as it is now (a clip that cannot be read stays failed)."""
    if record.fingerprint != fingerprint:
        return False
    try:
        stamp = source_stamp(clip.path)
    except OSError:
        return record.status == "failed"
    return stamp == (record.source_size, record.source_mtime_ns)


def is_done(out: Path, clip: Clip, fingerprint: str) -> ClipRecord | None:
    """The clip's record when its outputs are complete for this very source file and fingerprint."""
    record = read_record(out, clip.name)
    if record is None or record.status not in DONE or not is_current(record, clip, fingerprint):
        return None
    return record if (out / record.csv).is_file() else None

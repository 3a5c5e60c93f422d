"""OUT/summary.csv: one row per clip of the corpus, rebuilt from the clips' records whenever a run or a
shard ends and finds every clip recorded (so whichever job of a multirun ends last writes it)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from fer.corpus.listing import Clip
from fer.corpus.records import ClipRecord, is_current, read_record
from fer.outputs import write_atomically

FILE = "summary.csv"
FIELDS = ("path", "status", "reason", "duration_s", "frames_announced", "frames_read", "frames_analysed",
          "faces", "tracks", "wall_s")


def summary_row(record: ClipRecord, class_names: list[str]) -> list:
    shares = [round(record.labels.get(c, 0) / record.faces, 5) if record.faces else 0.0 for c in class_names]
    return [record.name, record.status, record.reason, record.duration_s,
            "" if record.frames_announced is None else record.frames_announced, record.frames_read,
            record.frames_analysed, record.faces, record.tracks, record.wall_s, *shares]


def current_records(out: Path, clips: list[Clip], fingerprint: str) -> tuple[list[ClipRecord], list[Clip]]:
    """(the clips' current records, the clips still without one)."""
    records, missing = [], []
    for clip in clips:
        record = read_record(out, clip.name)
        if record is not None and is_current(record, clip, fingerprint):
            records.append(record)
        else:
            missing.append(clip)
    return records, missing


def write_summary(out: Path, records: list[ClipRecord], class_names: list[str]) -> Path:
    """Rows sorted by path; `share_<class>`: the share of the clip's face-frames with that label."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow([*FIELDS, *(f"share_{c}" for c in class_names)])
    writer.writerows(summary_row(r, class_names) for r in sorted(records, key=lambda r: r.name))
    path = out / FILE
    write_atomically(path, buf.getvalue().encode(), shared=True)  # the last shards may end together
    return path

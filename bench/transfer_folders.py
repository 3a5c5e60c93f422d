"""Folder trees (symlinks) for the few-labels transfer comparison on FER-2013, with no leakage between them.

    python -m bench.transfer_folders --out outputs/bench/transfer/data --leave-out surprise --per-class 100 300

From FER-2013's train/ it draws (seed 0) a fine-tuning pool of `max(per_class)` faces per class, and
writes:
  pretrain/train/<six classes>/   every other training face, without the left-out class
  pretrain/test/<six classes>/    PublicTest without the left-out class
  few<N>/train/<seven classes>/   the first N faces per class of the pool (the smaller pools nest)
  few<N>/test/<seven classes>/    PublicTest, all of it
The pool never reaches pretraining, PublicTest never reaches training or model selection (each run holds
out its own validation share of train/), and the tree's counts are printed and written to counts.json.
"""

from __future__ import annotations

import argparse
import json
import os
import random
from pathlib import Path

from fer.constants import IMAGE_SUFFIXES  # what the folder reader reads


def images(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)


def link_all(files: list[Path], dest: Path) -> None:
    dest.mkdir(parents=True, exist_ok=True)
    for f in files:
        (dest / f.name).symlink_to(f.resolve())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--root", default=os.environ.get("FER2013_ROOT", "data/fer2013"), help="FER-2013 image folders")
    ap.add_argument("--out", default="outputs/bench/transfer/data")
    ap.add_argument("--leave-out", default="surprise", help="the class pretraining never sees")
    ap.add_argument("--per-class", type=int, nargs="+", default=[100, 300], help="fine-tuning faces per class")
    args = ap.parse_args()

    root, out = Path(args.root), Path(args.out)
    if not (root / "train").is_dir():
        raise SystemExit(f"{root / 'train'} not found: give --root (or FER2013_ROOT) the FER-2013 image folders")
    classes = sorted(p.name for p in (root / "train").iterdir() if p.is_dir())
    if args.leave_out not in classes:
        raise SystemExit(f"--leave-out {args.leave_out!r} is not a class of {root / 'train'}; choose one of: {', '.join(classes)}")
    if out.exists() and any(out.iterdir()):
        raise SystemExit(f"{out} is not empty; remove it or choose another --out")
    pool_size = max(args.per_class)
    rng = random.Random(0)
    counts: dict[str, dict[str, int]] = {"pretrain/train": {}, "pretrain/test": {}}
    for c in classes:
        train = images(root / "train" / c)
        if len(train) <= pool_size:
            raise SystemExit(f"class {c} has {len(train)} training faces, too few for a pool of {pool_size}")
        rng.shuffle(train)
        pool, rest = train[:pool_size], train[pool_size:]
        test = images(root / "test" / c)
        for n in args.per_class:
            link_all(pool[:n], out / f"few{n}" / "train" / c)
            link_all(test, out / f"few{n}" / "test" / c)
            counts.setdefault(f"few{n}/train", {})[c] = n
        if c != args.leave_out:
            link_all(rest, out / "pretrain" / "train" / c)
            link_all(test, out / "pretrain" / "test" / c)
            counts["pretrain/train"][c], counts["pretrain/test"][c] = len(rest), len(test)
    (out / "counts.json").write_text(json.dumps(counts, indent=2) + "\n")
    for split, per in counts.items():
        print(f"{split}: {sum(per.values())} faces  " + ", ".join(f"{c} {n}" for c, n in per.items()))


if __name__ == "__main__":
    main()

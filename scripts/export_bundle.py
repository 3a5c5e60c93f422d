"""Export a training checkpoint as the small weights-only bundle that live inference ships.

    python scripts/export_bundle.py outputs/<task>/runs/<time>/checkpoints/best-....ckpt
    python scripts/export_bundle.py CKPT --out fer/weights/fer2013.pt --precision int8 --meta note="..."

Accuracy and the training command are read from the run's report.json when it scored this very
checkpoint; --meta adds or overrides entries (values are kept as text, numbers as numbers).
"""

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def parse_meta(items: list[str]) -> dict:
    meta = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            sys.exit(f"--meta takes key=value, got {item!r}")
        try:
            meta[key] = json.loads(value)
        except json.JSONDecodeError:
            meta[key] = value
    return meta


def main() -> int:
    from fer.checkpoints import PRECISIONS, export_bundle
    from fer.errors import FERError

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("ckpt", help="a .ckpt written by scripts/train.py")
    ap.add_argument("--out", default=str(ROOT / "fer" / "weights" / "fer2013.pt"))
    ap.add_argument("--precision", default="int8", choices=PRECISIONS)
    ap.add_argument("--meta", nargs="*", default=[], metavar="KEY=VALUE")
    args = ap.parse_args()
    try:
        info = export_bundle(args.ckpt, args.out, parse_meta(args.meta), precision=args.precision)
    except FERError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    size = Path(args.out).stat().st_size / 1e6
    print(f"wrote {args.out} ({size:.1f} MB, {args.precision}) and {Path(args.out).with_suffix('.json')}")
    print(json.dumps(info, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""`ferkit export` (scripts/export.py): a checkpoint for inference, as an ONNX model (fp32 or int8) or a small
weights-only bundle.

    ferkit export CKPT --out model.onnx                       # ONNX, fp32 (the default format)
    ferkit export CKPT --out model-int8.onnx --int8           # static int8, calibrated on training faces
    ferkit export CKPT --format bundle --out model.pt --precision fp16
    ferkit export fer/weights/fer2013-fastcnn32.pt --out fer/weights/fer2013-fastcnn32.onnx --force   # shipped

CKPT is a .ckpt from `ferkit train` or a bundle .pt. An existing --out is overwritten only with
--force. After an ONNX export a parity check runs it with ONNX Runtime against PyTorch: the max
probability difference on a batch of faces, and both accuracies on PublicTest when FER-2013 is
found (--data-root or FER2013_ROOT). int8 calibration uses --calib training faces (default 300),
or synthetic faces, with a warning, when the data is absent.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from fer.cli.entrypoint import OneLineParser, exit_on_user_error, launcher
from fer.errors import ConfigError


def parse_meta(items: list[str]) -> dict:
    meta = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ConfigError(f"--meta takes key=value, got {item!r}")
        try:
            meta[key] = json.loads(value)
        except json.JSONDecodeError:
            meta[key] = value
    return meta


def calibration_count(text: str) -> int:
    """--calib's value, refused while the arguments are read: a whole number of faces, at least 1."""
    try:
        n = int(text)
    except ValueError:
        n = None
    if n is None or n < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be a whole number >= 1 (training faces to calibrate on)")
    return n


def arguments(argv: list[str] | None = None) -> argparse.Namespace:
    ap = OneLineParser(prog=launcher("export"), description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("ckpt", help="a .ckpt written by `ferkit train`, or a bundle .pt")
    ap.add_argument("--out", required=True, help="file to write (.onnx, or .pt for --format bundle)")
    ap.add_argument("--force", action="store_true", help="overwrite --out if it exists")
    ap.add_argument("--format", default="onnx", choices=("onnx", "bundle"))
    ap.add_argument("--int8", action="store_true", help="onnx: static int8 quantization")
    ap.add_argument("--precision", default=None, help="bundle: fp32 | fp16 | int8 (default fp16)")
    ap.add_argument("--calib", type=calibration_count, default=300, help="int8: training faces to calibrate on")
    ap.add_argument("--data-root", default=os.environ.get("FER2013_ROOT"),
                    help="FER-2013 for calibration and the PublicTest parity check (default: $FER2013_ROOT)")
    ap.add_argument("--no-check", action="store_true", help="skip the parity check after an ONNX export")
    ap.add_argument("--meta", nargs="*", default=[], metavar="KEY=VALUE", help="extra metadata entries")
    return ap.parse_args(argv)


def load_faces(root: str | None):
    """FER-2013 splits from `root` (decoded once into data/cache, like `ferkit train` does: under
    $PROJECT_ROOT, which scripts/ sets to the checkout, else the working folder), or None when it is not there."""
    from fer.data.load import load_fer2013

    if not root or not Path(root).exists():
        return None
    return load_fer2013(root, cache_dir=Path(os.environ.get("PROJECT_ROOT", ".")) / "data" / "cache")


def calibration_faces(splits, n: int):
    import numpy as np

    from fer.data.synthetic import synthetic_faces

    if splits is None or len(splits.train) == 0:
        print(f"warning: FER-2013 not found (--data-root / FER2013_ROOT): calibrating int8 on {n} synthetic "
              "faces; accuracy will suffer, re-export with the data for a shippable model", file=sys.stderr)
        return synthetic_faces(n)
    rng = np.random.default_rng(0)
    idx = rng.choice(len(splits.train), size=min(n, len(splits.train)), replace=False)
    return splits.train.images.numpy()[np.sort(idx)]


def parity(ckpt: str, out: Path, splits) -> dict:

    from fer.data.synthetic import synthetic_faces
    from fer.inference.backends import open_backend
    from fer.inference.parity import compare

    reference, candidate = open_backend(ckpt, "torch"), open_backend(out, "onnxruntime", threads=2)
    if splits is not None and len(splits.val):
        result = compare(reference, candidate, splits.val.images.numpy(), splits.val.labels.numpy())
        faces_from = "PublicTest"
    else:
        result = compare(reference, candidate, synthetic_faces(256))
        faces_from = "synthetic (FER-2013 not found)"
    rounded = {k: (round(v, 7) if isinstance(v, float) else v) for k, v in result.items()}
    return {**rounded, "faces_from": faces_from}


def export(args: argparse.Namespace) -> dict:
    from fer.checkpoints import check_calibration_count, check_output, export_bundle, export_onnx, load_model

    out = check_output(args.out, args.force, inputs=[("checkpoint", Path(args.ckpt))])
    check_calibration_count(args.calib)
    meta = parse_meta(args.meta)
    if args.format == "bundle":
        if args.int8:
            raise ConfigError("--int8 is for --format onnx; a bundle takes --precision int8")
        precision = args.precision or "fp16"
        return {"out": str(out), **export_bundle(args.ckpt, out, meta, precision=precision)}
    if args.precision not in (None, "fp32", "int8"):
        raise ConfigError(f"--precision {args.precision} is for bundles; ONNX is fp32 or --int8")
    precision = "int8" if args.int8 or args.precision == "int8" else "fp32"
    loaded = load_model(args.ckpt)
    splits = load_faces(args.data_root) if (precision == "int8" or not args.no_check) else None
    calibration = calibration_faces(splits, args.calib) if precision == "int8" else None
    info = export_onnx(loaded, out, {"exported_from": Path(args.ckpt).name, **meta}, precision, calibration)
    result = {"out": str(out), "size_mb": round(out.stat().st_size / 1e6, 2), "precision": precision}
    if not args.no_check:
        result["parity"] = parity(args.ckpt, out, splits)
    result["metadata"] = info
    return result


@exit_on_user_error
def main(argv: list[str] | None = None) -> int:
    print(json.dumps(export(arguments(argv)), indent=1, default=str))
    return 0

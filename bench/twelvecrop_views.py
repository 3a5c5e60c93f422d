"""Which test-time views pay for themselves: PublicTest accuracy of the default model averaged over
different sets of views, and what each kind of view costs in ONNX Runtime fp32 on this machine.

    python -m bench.twelvecrop_views --data ../shared/data/fer2013
    python -m bench.twelvecrop_views --data ../shared/data/fer2013 --ckpt fer/weights/fer2013-fastcnn32.pt --out -

Kinds of view: the face and its mirror (48 px); the four corner and the centre crops of 44 px and their
mirrors, resized back to 48 px (what `tta=twelvecrop` uses) or fed at 44 px as they are (a fully
convolutional net takes them; 16% fewer operations); the same crops at 40 px. Every view of every face
is scored once, and each row averages the probabilities of its views. Writes the
`## Test-time views` section of docs/benchmarks.md (`--out -` prints only).
"""

from __future__ import annotations

import argparse
import io
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import torch

from bench.common import ROOT, machine_line, publish
from fer.checkpoints.bundled import BUNDLED_ONNX
from fer.checkpoints.loading import load_model
from fer.checkpoints.onnx_export import OPSET
from fer.checkpoints.onnx_metadata import INPUT_NAME, OUTPUT_NAME
from fer.data.load import load_split
from fer.data.preprocess import model_input_batches
from fer.evaluation.scoring import MAX_FORWARD, five_crops
from fer.inference.backends import OnnxRuntimeBackend

HEADING = "## Test-time views"
# name -> the view kinds it averages; the first row is what `tta=twelvecrop` computes
ROWS = {
    "`tta=twelvecrop`: face, mirror, 44-px crops resized (12 views)": ["face", "crops44_resized"],
    "`tta=flip`: face and mirror (2)": ["face"],
    "`tta=none`: the face alone (1)": ["face_only"],
    "the ten 44-px crops resized, no whole face (10)": ["crops44_resized"],
    "face, mirror, 44-px crops at 44 px (12)": ["face", "crops44_native"],
    "the ten 44-px crops at 44 px (10)": ["crops44_native"],
    "face, mirror, 40-px crops at 40 px (12)": ["face", "crops40_native"],
}


def free_size_backend(path: Path, threads: int) -> OnnxRuntimeBackend:
    """The model as ONNX with free height and width (the shipped files fix 48x48), run by the backend
    evaluation uses, spinning as evaluation asks it to."""
    loaded = load_model(path)
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(loaded.net.float().eval(), (torch.zeros(2, 1, 48, 48),), buf, dynamo=False,
                          opset_version=OPSET, input_names=[INPUT_NAME], output_names=[OUTPUT_NAME],
                          dynamic_axes={INPUT_NAME: {0: "n", 2: "h", 3: "w"}, OUTPUT_NAME: {0: "n"}})
    return OnnxRuntimeBackend(buf.getvalue(), threads, str(path), loaded.class_names, spin=True)


def view_kinds(x: torch.Tensor) -> dict[str, list[torch.Tensor]]:
    def mirrored(crops: list[torch.Tensor]) -> list[torch.Tensor]:
        return crops + [c.flip(-1) for c in crops]

    return {"face": [x, x.flip(-1)], "crops44_resized": mirrored(five_crops(x, 44)),
            "crops44_native": mirrored(five_crops(x, 44, resize=False)),
            "crops40_native": mirrored(five_crops(x, 40, resize=False))}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True, help="FER-2013 root")
    ap.add_argument("--ckpt", default=str(BUNDLED_ONNX.with_suffix(".pt")), help="a bundle .pt or .ckpt")
    ap.add_argument("--split", default="val", help="val = PublicTest")
    ap.add_argument("--faces", type=int, default=0, help="score only the first N faces (0: all)")
    ap.add_argument("--threads", type=int, default=torch.get_num_threads())
    ap.add_argument("--out", default=str(ROOT / "docs" / "benchmarks.md"), help="'-' prints only")
    args = ap.parse_args()
    faces = load_split(args.data, args.split, ROOT / "data" / "cache").faces
    n = args.faces or len(faces.labels)
    x = torch.cat(list(model_input_batches(faces.images[:n], 4096)))
    y = faces.labels[:n].numpy()
    backend = free_size_backend(Path(args.ckpt), args.threads)

    def probs(view: torch.Tensor) -> np.ndarray:
        return np.concatenate([backend.probs(chunk.numpy()) for chunk in view.split(MAX_FORWARD)])

    scored, ms = {}, {}
    for kind, views in view_kinds(x).items():
        start = time.perf_counter()
        scored[kind] = [probs(v) for v in views]
        ms[kind] = (time.perf_counter() - start) / (len(views) * len(x)) * 1e3
        print(f"{kind}: {ms[kind]:.2f} ms a view", file=sys.stderr, flush=True)
    scored["face_only"], ms["face_only"] = scored["face"][:1], ms["face"]
    command = "python -m bench.twelvecrop_views --data <fer2013>"
    if Path(args.ckpt).resolve() != BUNDLED_ONNX.with_suffix(".pt").resolve():
        command += f" --ckpt {args.ckpt}"
    if args.faces:
        command += f" --faces {args.faces}"
    lines = [HEADING, "", f"`{command}`", "",
             f"- Machine: {machine_line(args.threads)}; ONNX Runtime fp32, {args.threads} threads, "
             f"{MAX_FORWARD} views a call.",
             f"- Model: `{Path(args.ckpt).name}`; {len(x):,} {args.split} faces. Time: the views' scoring "
             "alone, per face, for the whole row.", "",
             "| views averaged | accuracy | ms a face |", "|---|---:|---:|"]
    for name, kinds in ROWS.items():
        views = [p for k in kinds for p in scored[k]]
        acc = (np.mean(views, axis=0).argmax(1) == y).mean()
        cost = sum(ms[k] * len(scored[k]) for k in kinds)
        lines.append(f"| {name} | {acc:.2%} | {cost:.1f} |")
    publish(HEADING, "\n".join(lines) + "\n", args.out)


if __name__ == "__main__":
    main()

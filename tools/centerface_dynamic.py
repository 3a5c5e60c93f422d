"""Make fer/weights/centerface.onnx from the CenterFace authors' centerface_bnmerged.onnx.

The authors' file declares a fixed 10x3x32x32 input and lists its weights among the graph inputs. OpenCV's
DNN module ignores both; ONNX Runtime honours them, so it could neither take frames of other sizes nor
fold the weights as constants. This rewrites only the graph's interface: the input and outputs get free
batch, height and width dimensions and the weights are no longer inputs. Weights and nodes are untouched
(the script checks that every initializer is byte-identical).

    python tools/centerface_dynamic.py AUTHORS.onnx fer/weights/centerface.onnx     # needs `onnx` (ferkit[train])
"""

from __future__ import annotations

import argparse
import hashlib
from pathlib import Path


def make_dynamic(source: Path, target: Path) -> str:
    import onnx

    model = onnx.load(str(source))
    weights = {w.name for w in model.graph.initializer}
    inputs = [i for i in model.graph.input if i.name not in weights]
    del model.graph.input[:]
    model.graph.input.extend(inputs)
    for values, suffix in ((model.graph.input, ""), (model.graph.output, "_out")):
        for value in values:
            dims = value.type.tensor_type.shape.dim
            for index, name in ((0, "batch"), (2, "height"), (3, "width")):
                dims[index].ClearField("dim_value")
                dims[index].dim_param = name + suffix
    onnx.checker.check_model(model)
    before = {w.name: w.SerializeToString() for w in onnx.load(str(source)).graph.initializer}
    assert all(before[w.name] == w.SerializeToString() for w in model.graph.initializer), "weights changed"
    target.write_bytes(model.SerializeToString())
    return hashlib.sha256(target.read_bytes()).hexdigest()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("source", type=Path, help="the authors' centerface_bnmerged.onnx")
    ap.add_argument("target", type=Path, help="where to write the dynamic-size copy")
    args = ap.parse_args()
    print(f"{args.target}: sha256 {make_dynamic(args.source, args.target)}")


if __name__ == "__main__":
    main()

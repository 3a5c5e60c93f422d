"""What an .onnx file must take and give to run here, checked when it is opened rather than at the first face.

The pipeline feeds one input, `input`, a batch of N gray 48x48 faces (N,1,48,48 float32, N dynamic: every
face of a frame goes in one batch), and reads one output, `logits`, of N rows with one score per class
named in the metadata. A file that promises another input in its metadata, or whose graph declares
another interface, is refused with one line that says what it has and what is needed.

Ports are (name, element type, shape) as ONNX Runtime reports them: fixed dimensions are ints, dynamic
ones a name or None, so the checks need no graph and run on any description (the fuzz tests feed them
made-up ones).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fer.checkpoints.onnx_metadata import INPUT_NAME, OUTPUT_NAME
from fer.constants import IMAGE_SIZE
from fer.errors import CheckpointError

FACE_DIMS = (1, IMAGE_SIZE, IMAGE_SIZE)  # what fer.data.preprocess makes of a face: one gray channel
FLOAT = "tensor(float)"
EXPORT_HINT = "export the checkpoint with `python scripts/export.py CKPT --format onnx --out FILE.onnx`"


@dataclass(frozen=True)
class Port:
    name: str
    type: str  # e.g. "tensor(float)"
    shape: tuple[Any, ...] | None  # ints for fixed dimensions, str or None for dynamic ones; None: unknown rank

    @classmethod
    def of(cls, arg: Any) -> Port:
        """From an onnxruntime NodeArg."""
        shape = arg.shape
        return cls(str(arg.name), str(arg.type), None if shape is None else tuple(shape))


def is_fixed(dim: Any) -> bool:
    return isinstance(dim, int) and not isinstance(dim, bool) and dim >= 0


def shape_text(shape: Sequence[Any] | None) -> str:
    if shape is None:
        return "of unknown rank"
    return ",".join(str(d) if is_fixed(d) else "N" if i == 0 else "?" for i, d in enumerate(shape))


NEEDED_INPUT = f"one input {INPUT_NAME!r} of shape {shape_text((None, *FACE_DIMS))} float32 (gray 48x48 faces)"
NEEDED_OUTPUT = f"one output {OUTPUT_NAME!r} of shape N,C float32 (C: the number of class names)"


def promised_dims(props: Mapping[str, str], path: str | Path) -> tuple[int, ...] | None:
    """The per-face dimensions the metadata's `input` entry promises ("N,1,48,48 float32"), or None if absent."""
    text = props.get("input")
    if text is None:
        return None
    dims = text.split()[0].split(",") if text.split() else []
    try:
        if len(dims) < 2:
            raise ValueError(text)
        return tuple(int(d) for d in dims[1:])
    except ValueError:
        raise CheckpointError(f"{path} has malformed metadata: input={text!r} is not like "
                              f"'{shape_text((None, *FACE_DIMS))} float32'; re-export it") from None


def check_input(inputs: Sequence[Port], props: Mapping[str, str], path: str | Path) -> None:
    promised = promised_dims(props, path)
    if promised is not None and promised != FACE_DIMS:
        raise CheckpointError(f"{path} promises input N,{','.join(map(str, promised))} in its metadata; this "
                              f"package feeds {NEEDED_INPUT}: retrain or {EXPORT_HINT}")
    if len(inputs) != 1:
        names = ", ".join(repr(p.name) for p in inputs) or "none"
        raise CheckpointError(f"{path} takes {len(inputs)} inputs ({names}); it needs {NEEDED_INPUT}: {EXPORT_HINT}")
    port = inputs[0]
    if port.name != INPUT_NAME:
        raise CheckpointError(f"{path} names its input {port.name!r}; it needs {NEEDED_INPUT}: {EXPORT_HINT}")
    if port.type != FLOAT:
        raise CheckpointError(f"{path} takes {port.type}; it needs {NEEDED_INPUT}: {EXPORT_HINT}")
    shape = port.shape
    if shape is None or len(shape) != 1 + len(FACE_DIMS) or any(
            is_fixed(d) and d != want for d, want in zip(shape[1:], FACE_DIMS, strict=True)):
        raise CheckpointError(f"{path} takes input {shape_text(shape)}; it needs {NEEDED_INPUT}: {EXPORT_HINT}")
    if is_fixed(shape[0]):
        raise CheckpointError(f"{path} takes batches of exactly {shape[0]}; the faces of a frame go in one batch, "
                              f"so it needs a dynamic batch dimension (N): {EXPORT_HINT}")


def check_output(outputs: Sequence[Port], class_names: Sequence[str], path: str | Path) -> None:
    if len(outputs) != 1:
        names = ", ".join(repr(p.name) for p in outputs) or "none"
        raise CheckpointError(f"{path} gives {len(outputs)} outputs ({names}); it needs {NEEDED_OUTPUT}: "
                              f"{EXPORT_HINT}")
    port = outputs[0]
    if port.name != OUTPUT_NAME:
        raise CheckpointError(f"{path} names its output {port.name!r}; it needs {NEEDED_OUTPUT}: {EXPORT_HINT}")
    if port.type != FLOAT:
        raise CheckpointError(f"{path} gives {port.type}; it needs {NEEDED_OUTPUT}: {EXPORT_HINT}")
    if port.shape is not None and len(port.shape) != 2:
        raise CheckpointError(f"{path} gives output {shape_text(port.shape)}; it needs {NEEDED_OUTPUT}: "
                              f"{EXPORT_HINT}")
    if port.shape is not None and is_fixed(port.shape[1]):
        check_class_count(port.shape[1], class_names, path)


def check_class_count(scores: int, class_names: Sequence[str], path: str | Path) -> None:
    if scores != len(class_names):  # the names themselves stay out of the message: they may hold anything
        raise CheckpointError(f"{path} gives {scores} scores per face but its metadata names {len(class_names)} "
                              "classes; re-export it from the checkpoint it was trained as")


def check_interface(inputs: Sequence[Port], outputs: Sequence[Port], class_names: Sequence[str],
                    props: Mapping[str, str], path: str | Path) -> None:
    """Raise a one-line CheckpointError unless the model takes and gives what the pipeline feeds and reads."""
    check_input(inputs, props, path)
    check_output(outputs, class_names, path)

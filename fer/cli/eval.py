"""`ferkit eval` (scripts/eval.py): evaluate one or more checkpoints on a split of FER-2013 (or data=folder|ferplus|rafdb|affectnet) and write the report
into the run directory.

    ferkit eval ckpt=path/to/best.ckpt data.root=/path/to/fer2013 split=val tta=flip
    ferkit eval data.root=/path/to/faces split=test   # the bundled model on any labelled folder
    ferkit eval ckpt=model.onnx tta=tencrop           # an exported model (ONNX Runtime)
    ferkit eval classifier.backend=torch              # PyTorch instead of ONNX Runtime
    ferkit eval ckpt=last.ckpt data=folder data.root=PATH split=test   # another dataset, with its classes
    ferkit eval cam=12                                # also cam.png: face 12's Grad-CAM map (or cam=face.jpg)
"""

from __future__ import annotations

from omegaconf import DictConfig

from fer.cli.entrypoint import hydra_command


@hydra_command("eval")
def main(cfg: DictConfig) -> float:
    from fer.cli.evaluation import evaluate

    return evaluate(cfg)["accuracy"]

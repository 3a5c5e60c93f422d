"""An .onnx file whose interface the pipeline cannot use is refused when it is opened, in one line: by the
classifier, the Python API, and `ferkit serve`, `ferkit webcam` and `ferkit analyze` (exit 2, before serving)."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
from live_helpers import synthetic_frame, write_video
from onnx_helpers import TensorProto, tiny_onnx

from fer.api.recognizer import Recognizer
from fer.errors import CheckpointError
from fer.inference.classifier import EmotionClassifier

FERKIT = [sys.executable, "-m", "fer.cli.main"]

BAD = {  # what is wrong: (tiny_onnx arguments, words of the refusal)
    "input-64x64": ({"declared": ("N", 1, 64, 64), "real": (1, 64, 64)}, "takes input N,1,64,64"),
    "three-channels": ({"declared": ("N", 3, 48, 48), "real": (3, 48, 48)}, "takes input N,3,48,48"),
    "input-named-x": ({"input_name": "x"}, "names its input 'x'"),
    "3-scores-7-names": ({"scores": 3}, "gives 3 scores per face but its metadata names 7 classes"),
    "three-outputs": ({"output_names": ("logits", "a", "b")}, "gives 3 outputs ('logits', 'a', 'b')"),
    "output-named-probs": ({"output_names": ("probs",)}, "names its output 'probs'"),
    "float64": ({"elem": TensorProto.DOUBLE}, "takes tensor(double)"),
    "batch-fixed-at-1": ({"declared": (1, 1, 48, 48)}, "takes batches of exactly 1"),
    "rank-2-input": ({"declared": ("N", 2304), "real": (2304,)}, "takes input N,2304"),
    "metadata-promises-64": ({"props": {"input": "N,1,64,64 float32"}}, "promises input N,1,64,64"),
    "metadata-input-garbled": ({"props": {"input": "big"}}, "malformed metadata: input='big'"),
    # Shapes the declaration leaves open: only running the graph finds these.
    "scores-declared-open": ({"scores": 3, "declared_scores": "C"}, "gives 3 scores per face"),
    "size-only-the-weights-fix": ({"declared": ("N", 1, "h", "w"), "real": (1, 64, 64)},
                                  "fails on a batch of two blank faces"),
    "no-class-names": ({"names": None}, "has no class_names in its metadata"),
}


@pytest.fixture(scope="module")
def bad_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bad-onnx")
    return {key: tiny_onnx(folder / f"{key}.onnx", **kwargs) for key, (kwargs, _) in BAD.items()}


def test_a_well_formed_tiny_model_opens_and_classifies(tmp_path):
    clf = EmotionClassifier.from_path(tiny_onnx(tmp_path / "good.onnx"))
    probs = clf.predict([synthetic_frame()[:60, :60], synthetic_frame()[:30, :40], synthetic_frame()])
    assert probs.shape == (3, 7) and np.allclose(probs.sum(1), 1, atol=1e-5)


@pytest.mark.parametrize("key", list(BAD))
def test_a_mismatched_interface_is_one_line_when_opened(bad_files, key):
    path = bad_files[key]
    for open_it in (EmotionClassifier.from_path, lambda p: Recognizer(ckpt=p, detector="haar")):
        with pytest.raises(CheckpointError) as e:
            open_it(path)
        message = str(e.value)
        assert BAD[key][1] in message and str(path) in message and "\n" not in message, message


def test_the_bundled_models_pass_the_checks():
    for name in ("fer2013-fastcnn48.onnx", "fer2013-fastcnn32-int8.onnx"):
        path = EmotionClassifier.from_path(None).backend.path.replace("fer2013-fastcnn48.onnx", name)
        assert EmotionClassifier.from_path(path).class_names[3] == "happy"


def ferkit(args: list, cwd) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "PROJECT_ROOT"}
    return subprocess.run([*FERKIT, *map(str, args)], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def test_commands_refuse_a_mismatched_model_with_one_line_and_exit_2(bad_files, tmp_path):
    bad = bad_files["3-scores-7-names"]
    clip = write_video(tmp_path / "clip.mp4", frames=3)
    commands = {
        "serve": ["serve", f"ckpt={bad}", "port=0", f"hydra.run.dir={tmp_path / 'serve'}"],
        "webcam": ["webcam", f"ckpt={bad}", "headless=true", f"source={clip}", f"output={tmp_path / 'out.mp4'}",
                   f"hydra.run.dir={tmp_path / 'webcam'}"],
        "analyze": ["analyze", f"ckpt={bad}", f"source={clip}", f"hydra.run.dir={tmp_path / 'analyze'}"],
    }
    for name, args in commands.items():
        res = ferkit(args, tmp_path)
        lines = res.stderr.strip().splitlines()
        assert res.returncode == 2 and len(lines) == 1, (name, res.stderr[-2000:])
        assert "gives 3 scores per face" in lines[0] and "Traceback" not in res.stderr
        assert "serving on" not in res.stdout + res.stderr

"""The light install: running a shipped model (Python API, service, headless runs) never imports PyTorch,
and a feature that needs PyTorch says which extra installs it."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from fer.errors import CheckpointError, ConfigError, FERError, MissingExtraError, SourceError

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("torch", "torchvision", "lightning", "torchmetrics", "tensorboard")
PHOTO = Path(os.environ.get("FER_MEDIA", "/nonexistent")) / "single_face.jpg"

# Run first in every child: a face-like synthetic frame and a detector that always finds one face, so the
# classifier runs even where no media is present. BLOCK (when set) makes PyTorch impossible to import.
PRELUDE = textwrap.dedent("""
    import sys
    if BLOCK:
        for name in HEAVY:
            sys.modules[name] = None  # `import torch` now fails, as where it is not installed
    import numpy as np

    FRAME = np.full((240, 320, 3), 120, np.uint8)
    FRAME[60:140, 40:120] = np.linspace(40, 220, 80, dtype=np.uint8)[:, None, None]

    class OneFace:
        name = "one"

        def detect(self, frame):
            return np.array([[40, 60, 80, 80]], dtype=np.int32)

    def no_heavy_module():
        loaded = [m for m in HEAVY if sys.modules.get(m) is not None]
        assert not loaded, f"imported {loaded}"
""")


def run_child(body: str, block: bool, tmp_path: Path) -> subprocess.CompletedProcess:
    code = f"BLOCK = {block}\nHEAVY = {HEAVY!r}\nPHOTO = {str(PHOTO)!r}\n" + PRELUDE + textwrap.dedent(body)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    return result


@pytest.mark.parametrize("block", [False, True], ids=["installed-but-unused", "not-installed"])
def test_recognizer_predicts_without_pytorch(tmp_path, block):
    out = run_child("""
        import os
        import fer
        faces = fer.Recognizer(detector=OneFace()).predict(FRAME)
        assert len(faces) == 1 and abs(sum(faces[0].probabilities.values()) - 1) < 1e-4
        if os.path.isfile(PHOTO):  # the default detector (CenterFace, shipped weights) on a real photo
            print(len(fer.Recognizer().predict(PHOTO)), "face(s)")
        stream = fer.Recognizer(detector=OneFace()).stream()
        assert all(len(stream.process(FRAME)) == 1 for _ in range(3))
        no_heavy_module()
    """, block, tmp_path)
    if PHOTO.is_file():
        assert "1 face(s)" in out.stdout


@pytest.mark.parametrize("block", [False, True], ids=["installed-but-unused", "not-installed"])
def test_service_answers_without_pytorch(tmp_path, block):
    pytest.importorskip("fastapi.testclient", reason="the service test needs httpx (FastAPI's TestClient)")
    run_child("""
        import cv2
        from fastapi.testclient import TestClient
        from fer.api.recognizer import Recognizer
        from fer.service import ServiceSettings, create_app

        app = create_app(ServiceSettings(), Recognizer(detector=OneFace()))
        with TestClient(app) as client:
            assert client.get("/healthz").status_code == 200
            png = cv2.imencode(".png", FRAME)[1].tobytes()
            r = client.post("/v1/predict", files={"file": ("frame.png", png, "image/png")})
            assert r.status_code == 200, r.text
            assert len(r.json()["faces"]) == 1
        no_heavy_module()
    """, block, tmp_path)


@pytest.mark.parametrize("block", [False, True], ids=["installed-but-unused", "not-installed"])
def test_headless_run_without_pytorch(tmp_path, block):
    run_child("""
        import json
        from pathlib import Path
        import cv2
        from fer.api.settings import live_settings
        from fer.live.run import run

        writer = cv2.VideoWriter("clip.mp4", cv2.VideoWriter_fourcc(*"mp4v"), 10, (320, 240))
        for _ in range(6):
            writer.write(FRAME)
        writer.release()
        cfg = {**live_settings(), "source": "clip.mp4", "headless": True, "output": "out.mp4",
               "detector": {"name": "haar"}}
        assert run(cfg) == 0
        assert len(Path("out.jsonl").read_text().splitlines()) == 6
        no_heavy_module()
    """, block, tmp_path)


@pytest.fixture
def without_pytorch(monkeypatch):
    """PyTorch made impossible to import, as in the light install."""
    for name in HEAVY:
        monkeypatch.setitem(sys.modules, name, None)


def one_line(err: FERError) -> str:
    text = str(err)
    assert "\n" not in text and text.endswith("pip install 'ferkit[train]'")
    return text


def test_the_torch_backend_names_the_extra(without_pytorch):
    from fer.inference.backends import resolve_backend

    with pytest.raises(MissingExtraError) as e:
        resolve_backend("torch")
    assert one_line(e.value) == "classifier.backend=torch needs PyTorch: pip install 'ferkit[train]'"


def test_a_checkpoint_names_the_extra(without_pytorch, tmp_path):
    from fer.inference.classifier import EmotionClassifier

    ckpt = tmp_path / "best.ckpt"
    ckpt.write_bytes(b"not read")
    with pytest.raises(MissingExtraError) as e:
        EmotionClassifier.from_path(ckpt)
    assert one_line(e.value).startswith("best.ckpt (a PyTorch checkpoint")


def test_mistakes_are_named_as_such_without_pytorch(without_pytorch, tmp_path):
    """A wrong path, bytes for a video, a negative frame count, a folder for an image: each says what is wrong,
    not that PyTorch is missing, nor a TypeError."""
    import fer

    with pytest.raises(CheckpointError, match="checkpoint not found: /no/such.ckpt"):
        fer.Recognizer(ckpt="/no/such.ckpt")
    r = fer.Recognizer(detector="haar")  # the bundled .onnx model
    with pytest.raises(SourceError, match="analyze reads a video file: pass its path, not a bytes"):
        r.analyze(b"...")
    with pytest.raises(ConfigError, match="max_frames=-1 must be a whole number >= 1"):
        r.analyze(tmp_path / "clip.mp4", max_frames=-1)
    with pytest.raises(SourceError, match="is a folder, not an image"):
        r.predict(tmp_path)


def test_a_gpu_device_names_the_extra(without_pytorch):
    from fer.api.settings import check_device

    assert check_device("cpu") == "cpu"
    with pytest.raises(MissingExtraError) as e:
        check_device("cuda:0")
    assert one_line(e.value) == "device=cuda:0 needs PyTorch: pip install 'ferkit[train]'"


def test_the_bundled_model_runs_on_numpy(without_pytorch):
    from fer.inference.classifier import EmotionClassifier

    clf = EmotionClassifier.from_path(None)
    crops = [np.full((60, 50, 3), v, np.uint8) for v in (30, 200)]
    probs = clf.predict(crops)
    assert probs.shape == (2, len(clf.class_names)) and probs.dtype == np.float32
    assert np.allclose(probs.sum(1), 1, atol=1e-5)
    assert clf.predict([]).shape == (0, len(clf.class_names))


def test_an_entry_point_ends_with_one_line_and_exit_2(tmp_path):
    video = tmp_path / "clip.mp4"
    code = textwrap.dedent(f"""
        import runpy, sys
        for name in {HEAVY!r}:
            sys.modules[name] = None
        sys.argv = ["webcam.py", "headless=true", "source={video}", "output={tmp_path / 'out.mp4'}",
                    "classifier.backend=torch", "hydra.run.dir={tmp_path / 'run'}"]
        runpy.run_path({str(ROOT / 'scripts' / 'webcam.py')!r}, run_name="__main__")
    """)
    import cv2

    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"mp4v"), 10, (64, 48))
    writer.write(np.zeros((48, 64, 3), np.uint8))
    writer.release()
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, timeout=300)
    output = result.stdout + result.stderr  # Hydra's log goes to the console and its run folder
    assert result.returncode == 2, output[-2000:]
    errors = [line for line in output.splitlines() if "pip install" in line]
    assert len(errors) == 1 and "classifier.backend=torch needs PyTorch: pip install 'ferkit[train]'" in errors[0]
    assert "Traceback" not in output


def test_timeline_plot_names_its_extra_when_matplotlib_is_absent(tmp_path):
    """The core install has no matplotlib: analyze writes its CSV and leaves the plot out, unless one is asked
    for, which then ends before any work with the extra to install."""
    run_child(f"""
        sys.modules["matplotlib"] = None
        from pathlib import Path
        from fer.api.analysis import Analysis
        from fer.cli.analyze import timeline_destination
        from fer.errors import MissingExtraError

        assert timeline_destination(None, Path({str(tmp_path)!r})) is None
        try:
            timeline_destination("t.png", Path({str(tmp_path)!r}))
            raise AssertionError("plot=t.png without matplotlib was accepted")
        except MissingExtraError as e:
            assert "ferkit[plot]" in str(e), e
        a = Analysis(source="clip.mp4", fps=25.0, width=64, height=48, class_names=["a", "b"])
        a.save(Path({str(tmp_path)!r}) / "out.csv", None)
        assert (Path({str(tmp_path)!r}) / "out.csv").is_file()
    """, True, tmp_path)

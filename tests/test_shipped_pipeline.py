"""Every entry point and bench builds the pipeline the shipped configs describe: the same detector with the
same arguments, the same tracker, the same frame skipping and background classification, the same model.

The reference is Hydra's composition of conf/webcam.yaml handed to the one factory,
fer.inference.build.build_pipeline; each entry point is asked for the pipeline it would run.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import CONF_DIR
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from fer.api.recognizer import Recognizer
from fer.inference.build import build_pipeline
from fer.inference.pipeline import LivePipeline

ROOT = Path(__file__).resolve().parents[1]

# Entry points and benches set process-wide thread counts; the rest of the session gets its own back.
pytestmark = pytest.mark.usefixtures("restore_threads")


def composed(config: str, *overrides: str) -> dict[str, Any]:
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        return OmegaConf.to_container(compose(config, overrides=list(overrides)), resolve=False)


def plain(value: Any) -> bool:
    return value is None or isinstance(value, bool | int | float | str)


def describe(pipe: LivePipeline) -> dict[str, Any]:
    """What makes two pipelines the same: every plain setting of the detector and tracker, the frame skipping,
    background classification, and which model file runs on which backend with how many threads."""
    det, tracker, backend = pipe.detector, pipe.tracker, pipe.classifier.backend
    return {
        "detector": (type(det).__name__, {k: v for k, v in vars(det).items() if not k.startswith("_") and plain(v)}),
        "tracker": {k: v for k, v in vars(tracker).items() if not k.startswith("_") and plain(v)},
        "detect_every": pipe.skipper.detect_every,
        "classify_in_background": pipe.classify_in_background,
        "model": (backend.name, Path(backend.path).name, getattr(backend, "threads", None)),
    }


@pytest.fixture(scope="module")
def shipped() -> dict[str, Any]:
    return describe(build_pipeline(composed("webcam")))


def test_the_shipped_tracker_is_the_configs(shipped):
    sm = composed("webcam")["smoothing"]
    assert shipped["tracker"] == {k: sm[k] for k in ("iou_threshold", "ema_alpha", "persistence", "box_alpha",
                                                     "max_tracks")}
    assert (shipped["detect_every"], shipped["classify_in_background"]) == (sm["detect_every"],
                                                                          sm["classify_in_background"])
    det = composed("webcam")["detector"]
    assert shipped["detector"][1]["input_width"] == det["input_width"]
    assert shipped["detector"][1]["photo_input_width"] == det["photo_input_width"]


class Built(Exception):
    """Raised once the entry point has built its pipeline: the test needs nothing more of the run."""


def test_webcam_and_headless_runs_build_it(shipped, monkeypatch, tmp_path):
    import fer.live.run as live_run

    built = []

    def record(cfg):
        built.append(build_pipeline(cfg))
        raise Built

    monkeypatch.setattr(live_run, "build_pipeline", record)
    cfg = composed("webcam", "headless=true", f"output={tmp_path / 'out.mp4'}")
    with pytest.raises(Built):
        live_run.run(cfg)
    assert describe(built[0]) == shipped


def test_analyze_and_the_corpus_build_it(shipped):
    from fer.cli.analyze import pipeline_settings

    recognizer = Recognizer.from_config(pipeline_settings(composed("analyze", "source=clip.mp4")))
    assert describe(recognizer.new_pipeline()) == shipped
    assert describe(Recognizer(settings={}).new_pipeline()) == shipped  # fer.corpus's workers build so


def test_the_python_api_builds_it_for_photos_videos_and_streams(shipped):
    recognizer = Recognizer()
    assert describe(recognizer.new_pipeline()) == shipped
    assert describe(recognizer.stream().pipeline) == shipped
    assert describe(recognizer._photos) == shipped
    # Streams share the detector and model, each with a tracker of its own.
    a, b = recognizer.stream().pipeline, recognizer.stream().pipeline
    assert a.detector is b.detector and a.classifier is b.classifier and a.tracker is not b.tracker


def test_the_service_builds_it(shipped):
    pytest.importorskip("fastapi")
    from fer.api.settings import webcam_part
    from fer.service.app import create_app
    from fer.service.server import ServiceSettings

    app = create_app(ServiceSettings.from_config(composed("serve")["service"], webcam_part(composed("serve"))))
    assert describe(app.state.recognizer.stream().pipeline) == shipped  # WS /v1/stream's pipeline
    assert describe(app.state.recognizer._photos) == shipped  # /v1/predict


def bench_module(name: str):
    """bench/<name>.py imported as a module (it puts bench/ on sys.path for its own helpers)."""
    pytest.importorskip("torch")  # the benches report torch's CPU capability
    spec = importlib.util.spec_from_file_location(f"bench_{name}", ROOT / "bench" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_the_live_fps_bench_measures_the_shipped_pipeline(shipped):
    bench = bench_module("live_fps")
    args = type("Args", (), {"ckpt": None, "threads": None, "classifier_threads": None})()
    backend = shipped["model"][0]
    pipe = bench.bench_pipeline("default", bench.build_classifier(bench.classifier_settings(args, backend)))
    assert describe(pipe) == shipped
    reference = describe(build_pipeline(composed("webcam", "detector=haar")))
    haar = bench.bench_pipeline("reference", pipe.classifier)
    assert describe(haar) == reference


def test_the_peers_bench_runs_the_shipped_pipeline_on_every_frame(shipped):
    bench = bench_module("peers")
    pipe = build_pipeline(bench.our_settings("centerface", shipped["model"][0]))
    assert describe(pipe) == {**shipped, "detect_every": 1, "classify_in_background": False}


def test_the_crop_a_face_shows_is_the_models_input():
    """The panel's 48x48 crop is the uint8 image the batch was made from: no round trip through floats."""
    pipe = build_pipeline(composed("webcam"))
    seen = []
    model_input = pipe.classifier.model_input
    pipe.classifier.model_input = lambda faces: seen.append(faces) or model_input(faces)

    class OneBox:
        name = "one_box"

        def detect(self, frame):
            return np.array([[40, 30, 96, 96]], np.int32)

    pipe.detector = OneBox()
    frame = np.random.default_rng(0).integers(0, 255, (240, 320, 3), dtype=np.uint8)
    face = pipe.process(frame, 0).faces[0]
    assert face.crop.dtype == np.uint8 and face.crop.shape == (48, 48)
    assert np.shares_memory(face.crop, seen[0])  # the very array the model input was made of

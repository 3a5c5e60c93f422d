"""conf/webcam.yaml: the default live setting, the one-override reference setting and the backend choice."""

from __future__ import annotations

import pytest
from conftest import CONF_DIR
from hydra import compose, initialize_config_dir
from live_helpers import lightning_style_checkpoint
from omegaconf import OmegaConf

from fer.inference.build import build_pipeline
from fer.inference.detectors.haar import HaarDetector


def webcam_config(*overrides: str) -> dict:
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose("webcam", overrides=list(overrides))
    return OmegaConf.to_container(cfg, resolve=False)


# run() sets process-wide thread counts; the rest of the session gets its own back.
pytestmark = pytest.mark.usefixtures("restore_threads")


def test_default_is_centerface_with_onnxruntime():
    cfg = webcam_config()
    assert cfg["detector"]["name"] == "centerface" and cfg["detector"]["input_width"] == 160
    assert cfg["classifier"] == {"backend": "auto", "threads": 1}
    assert cfg["smoothing"]["detect_every"] == 2


def test_detector_haar_restores_the_reference_parameters(tmp_path):
    cfg = webcam_config("detector=haar", f"ckpt={lightning_style_checkpoint(tmp_path / 'm.ckpt')}",
                        "classifier.backend=torch", "threads=1")
    assert cfg["detector"] == {"name": "haar", "scale_factor": 1.1, "min_neighbors": 4, "min_size": 30,
                               "detect_scale": 1.0}
    pipe = build_pipeline(cfg)
    det = pipe.detector
    assert isinstance(det, HaarDetector)
    assert (det.scale_factor, det.min_neighbors, det.min_size, det.detect_scale) == (1.1, 4, 30, 1.0)
    assert pipe.classifier.backend.name == "torch"


def test_backend_override_reaches_the_classifier(tmp_path):
    ckpt = lightning_style_checkpoint(tmp_path / "m.ckpt")
    cfg = webcam_config("detector=haar", f"ckpt={ckpt}", "classifier.backend=onnxruntime", "threads=1")
    assert build_pipeline(cfg).classifier.backend.name == "onnxruntime"

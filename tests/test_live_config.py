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


def test_api_settings_are_hydras_composition_of_the_same_files():
    """fer.api.settings reads webcam.yaml and its detector file itself (fast, no Hydra): the same values."""
    from fer.api.settings import NOT_PIPELINE, live_settings

    for detector in ("centerface", "haar"):
        composed = webcam_config(f"detector={detector}")
        expected = {k: v for k, v in composed.items() if k not in NOT_PIPELINE}
        assert live_settings({"detector": {"name": detector}}) == expected


def test_api_settings_merge_changes_and_switch_detector_files():
    from fer.api.settings import live_settings

    s = live_settings({"smoothing": {"ema_alpha": 0.3}, "detector": {"name": "haar", "detect_scale": 0.5}})
    assert s["smoothing"] == {**webcam_config()["smoothing"], "ema_alpha": 0.3}
    assert s["detector"] == {**webcam_config("detector=haar")["detector"], "detect_scale": 0.5}


def test_recognizer_builds_the_configured_pipeline_even_inside_a_hydra_app(tmp_path):
    """The detector, tracker and background classification of conf/webcam.yaml, also while another app holds Hydra's global state."""
    from fer.api.recognizer import Recognizer

    ckpt = lightning_style_checkpoint(tmp_path / "m.ckpt")
    cfg = webcam_config()
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        r = Recognizer(ckpt=ckpt, settings={"classifier": {"backend": "torch"}})
    det, tracker, pipe = r.detector, r._photos.tracker, r._photos
    assert (det.input_width, det.box_scale) == (cfg["detector"]["input_width"], cfg["detector"]["box_scale"])
    sm = cfg["smoothing"]
    assert (tracker.box_alpha, tracker.ema_alpha, tracker.persistence) == (sm["box_alpha"], sm["ema_alpha"],
                                                                            sm["persistence"])
    assert (pipe.classify_in_background, pipe.skipper.detect_every) == (sm["classify_in_background"],
                                                                         sm["detect_every"])
    haar = Recognizer(ckpt=ckpt, detector="haar", settings={"classifier": {"backend": "torch"}}).detector
    assert isinstance(haar, HaarDetector)
    assert haar.min_neighbors == webcam_config("detector=haar")["detector"]["min_neighbors"]


def test_model_info_and_healthz_name_the_network_file_and_classes(tmp_path):
    from fer.api.recognizer import Recognizer

    ckpt = lightning_style_checkpoint(tmp_path / "m.ckpt")
    r = Recognizer(ckpt=ckpt, detector="haar", settings={"classifier": {"backend": "torch"}})
    assert r.model_info == {"model": "cnn4", "path": str(ckpt), "backend": "torch"}
    from fastapi.testclient import TestClient

    from fer.service.app import create_app
    from fer.service.settings import ServiceSettings

    with TestClient(create_app(ServiceSettings(), r)) as client:
        health = client.get("/healthz").json()
    assert health["model"] == "cnn4" and health["path"] == str(ckpt) and health["classes"] == r.class_names


@pytest.mark.parametrize(("settings", "cli"), [
    ({"smoothing": {"ema_alpah": 0.01}}, "smoothing.ema_alpah=0.01"),
    ({"smoothin": {"ema_alpha": 0.01}}, "smoothin.ema_alpha=0.01"),
    ({"detector": {"name": "haar", "input_width": 3}}, "detector=haar +detector.input_width=3"),
    ({"smoothing": 3}, "smoothing=3"),
])
def test_misspelt_api_settings_are_refused_as_the_command_line_refuses_them(monkeypatch, capsys, settings, cli):
    """One checker (fer.numbers.known_settings): the Python API's message is the command line's, word for word."""
    from fer.api.recognizer import Recognizer
    from fer.cli.main import main
    from fer.errors import ConfigError

    with pytest.raises(ConfigError) as refused:
        Recognizer(settings=settings)  # before any model is loaded
    monkeypatch.setattr("sys.argv", ["ferkit"])
    monkeypatch.delenv("HYDRA_FULL_ERROR", raising=False)
    with pytest.raises(SystemExit) as exit_:
        main(["webcam", "headless=true", "output=o.mp4", "source=none.mp4", *cli.split()])
    assert exit_.value.code == 2
    assert capsys.readouterr().err.strip().splitlines() == [f"error: {refused.value}"]


def test_composed_configs_keep_their_own_keys_out_of_the_pipeline():
    """Recognizer.from_config takes a serve/analyze config whole: its port or csv are not webcam settings."""
    from fer.api.settings import live_settings, webcam_part

    cfg = {**webcam_config(), "port": 8000, "csv": "a.csv", "service": {"max_streams": 1}}
    assert set(webcam_part(cfg)) == set(webcam_config())
    assert live_settings(webcam_part(cfg))["smoothing"] == webcam_config()["smoothing"]


def test_renamed_settings_keep_working_under_their_old_names():
    from fer.api.settings import live_settings
    from fer.numbers import renamed_overrides

    with pytest.warns(FutureWarning, match="smoothing.stagger is now called smoothing.classify_in_background"):
        s = live_settings({"smoothing": {"stagger": False}})
    assert s["smoothing"]["classify_in_background"] is False and "stagger" not in s["smoothing"]
    with pytest.warns(FutureWarning):
        args = renamed_overrides(["smoothing.stagger=false", "detector.still_input_width=320", "threads=1"])
    assert args == ["smoothing.classify_in_background=false", "detector.photo_input_width=320", "threads=1"]
    cfg = webcam_config(*args)
    assert (cfg["smoothing"]["classify_in_background"], cfg["detector"]["photo_input_width"]) == (False, 320)


def test_a_bad_value_is_refused_by_the_python_api_as_on_the_command_line():
    from fer.api.recognizer import Recognizer
    from fer.errors import ConfigError

    for settings, words in (({"smoothing": {"ema_alpha": 2}}, r"smoothing.ema_alpha=2 must be a number in \(0.0"),
                            ({"detector": {"input_width": 8}}, "detector.input_width=8 must be a whole number >= 32"),
                            ({"classifier": {"threads": 0}}, "classifier.threads=0 must be a whole number >= 1")):
        with pytest.raises(ConfigError, match=words):
            Recognizer(settings=settings)

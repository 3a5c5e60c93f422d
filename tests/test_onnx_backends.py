"""ONNX export and the two classifier backends, on a tiny synthetic checkpoint."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch

from fer.checkpoints import check_output, export_onnx, load_model, read_onnx_metadata
from fer.constants import CLASSES
from fer.data.synthetic import synthetic_faces
from fer.errors import CheckpointError, ConfigError, OutputError
from fer.inference.backends import OnnxRuntimeBackend, TorchBackend, open_backend, resolve_backend
from fer.inference.classifier import EmotionClassifier
from fer.inference.parity import compare
from fer.training.module import FERModule

ROOT = Path(__file__).resolve().parents[1]


def tiny_checkpoint(path: Path, seed: int = 0) -> Path:
    """A small fastcnn with random BN statistics, so its outputs are far from uniform."""
    torch.manual_seed(seed)
    module = FERModule(model="fastcnn", model_kwargs={"width": 8})
    state = module.state_dict()
    for k, v in state.items():
        if k.endswith("running_mean"):
            state[k] = torch.randn_like(v) * 0.5
        elif k.endswith("running_var"):
            state[k] = torch.rand_like(v) + 0.5
        elif k.endswith(".weight") and v.ndim == 1:
            state[k] = torch.randn_like(v) * 2
        elif k.startswith("net.head") and v.ndim == 2:
            state[k] = v * 40  # confident logits: differences between backends would show
    torch.save({"pytorch-lightning_version": "2.5.0", "state_dict": state,
                "hyper_parameters": dict(module.hparams)}, path)
    return path


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory) -> Path:
    return tiny_checkpoint(tmp_path_factory.mktemp("onnx") / "tiny.ckpt")


@pytest.fixture(scope="module")
def exported(ckpt) -> Path:
    out = ckpt.with_name("tiny.onnx")
    export_onnx(load_model(ckpt), out, meta={"note": "test"})
    return out


def batch(n: int = 6, seed: int = 1) -> torch.Tensor:
    return torch.from_numpy(synthetic_faces(n, seed)).unsqueeze(1).float() / 255


def test_export_writes_metadata_and_a_dynamic_batch(exported):
    model = onnx.load(str(exported))
    props = {p.key: p.value for p in model.metadata_props}
    assert json.loads(props["class_names"]) == list(CLASSES)
    assert props["input"].startswith("N,1,48,48") and "/ 255" in props["preprocess"]
    assert json.loads(props["fer_meta"])["model"] == "fastcnn"
    dim = model.graph.input[0].type.tensor_type.shape.dim[0]
    assert dim.dim_param and not dim.dim_value  # symbolic batch size
    names, meta = read_onnx_metadata(exported)
    assert names == list(CLASSES) and meta["note"] == "test" and meta["precision"] == "fp32"
    backend = OnnxRuntimeBackend(exported)
    for n in (1, 5, 33):
        assert backend.probs(batch(n)).shape == (n, 7)


def test_backends_agree_within_fp32_rounding(ckpt, exported):
    torch_backend = open_backend(ckpt, "torch")
    x = batch(16)
    reference = torch_backend.probs(x)
    assert reference.max(1).mean() > 0.3  # a network with non-trivial outputs
    for other in (open_backend(exported, "onnxruntime"), open_backend(ckpt, "onnxruntime", threads=2)):
        assert isinstance(other, OnnxRuntimeBackend)
        assert np.abs(other.probs(x) - reference).max() < 1e-5
    assert isinstance(torch_backend, TorchBackend)
    assert torch_backend.probs(x[:0]).shape == (0, 7)


def test_classifier_defaults_to_onnxruntime(ckpt):
    assert resolve_backend("auto") == "onnxruntime"
    clf = EmotionClassifier.from_path(ckpt)
    assert clf.backend.name == "onnxruntime" and clf.class_names == list(CLASSES)
    probs = clf.predict([np.zeros((60, 50, 3), np.uint8), np.full((30, 30), 200, np.uint8)])
    assert probs.shape == (2, 7) and np.allclose(probs.sum(1), 1, atol=1e-5)


def test_int8_export_runs_and_stays_close(ckpt, tmp_path):
    out = tmp_path / "int8.onnx"
    info = export_onnx(load_model(ckpt), out, precision="int8", calibration=synthetic_faces(64))
    assert info["precision"] == "int8" and info["calibration_faces"] == 64
    assert any(n.op_type == "QuantizeLinear" for n in onnx.load(str(out)).graph.node)
    faces = synthetic_faces(40, seed=3)
    result = compare(open_backend(ckpt, "torch"), open_backend(out, "onnxruntime"), faces)
    assert result["faces"] == 40 and result["max_prob_diff"] < 0.25


def test_onnx_file_with_the_torch_backend_is_a_config_error(exported):
    with pytest.raises(ConfigError, match="backend=onnxruntime"):
        open_backend(exported, "torch")
    with pytest.raises(ConfigError, match="not one of"):
        resolve_backend("tensorrt")


def test_corrupt_or_foreign_onnx(tmp_path):
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"\x00garbage" * 20)
    with pytest.raises(CheckpointError, match="cannot be opened by ONNX Runtime"):
        open_backend(bad, "onnxruntime")
    with pytest.raises(CheckpointError, match="checkpoint not found"):
        open_backend(tmp_path / "missing.onnx", "onnxruntime")
    plain = tmp_path / "plain.onnx"  # a valid ONNX model without our metadata
    net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(48 * 48, 7))
    torch.onnx.export(net, (torch.zeros(1, 1, 48, 48),), str(plain), dynamo=False, input_names=["input"],
                      output_names=["logits"])
    with pytest.raises(CheckpointError, match="no class_names"):
        open_backend(plain, "onnxruntime")


def run_export(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "FER2013_ROOT": ""}
    return subprocess.run([sys.executable, str(ROOT / "scripts" / "export.py"), *args], capture_output=True,
                          text=True, env=env, timeout=300)


def test_export_script_refuses_to_overwrite_without_force(ckpt, tmp_path):
    out = tmp_path / "m.onnx"
    first = run_export(str(ckpt), "--out", str(out))
    assert first.returncode == 0, first.stderr
    parity = json.loads(first.stdout)["parity"]
    assert parity["max_prob_diff"] < 1e-5 and parity["faces_from"].startswith("synthetic")
    before = out.read_bytes()
    again = run_export(str(ckpt), "--out", str(out), "--int8")
    assert again.returncode == 2 and "exists; pass --force" in again.stderr
    assert len(again.stderr.strip().splitlines()) == 1 and out.read_bytes() == before
    forced = run_export(str(ckpt), "--out", str(out), "--int8", "--force", "--calib", "32", "--no-check")
    assert forced.returncode == 0, forced.stderr
    assert "synthetic" in forced.stderr and out.read_bytes() != before
    assert run_export(str(ckpt)).returncode == 2  # --out is required: nothing is overwritten by default


def test_export_script_bundle_format(ckpt, tmp_path):
    result = run_export(str(ckpt), "--format", "bundle", "--out", str(tmp_path / "b.pt"), "--precision", "int8")
    assert result.returncode == 0, result.stderr
    assert load_model(tmp_path / "b.pt").class_names == list(CLASSES)


def test_export_into_a_read_only_folder(ckpt, tmp_path, monkeypatch, capsys):
    from fer.cli.export import main

    # A read-only folder, even when the tests run as root (who may write anywhere).
    monkeypatch.setattr(os, "access", lambda *a, **k: False)
    with pytest.raises(SystemExit) as exit_:
        main([str(ckpt), "--out", str(tmp_path / "m.onnx"), "--no-check"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "cannot write into" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "m.onnx").exists()


@pytest.mark.parametrize("calib", ["abc", "-5", "0"])
def test_export_bad_calib_is_one_line_before_any_work(ckpt, tmp_path, capsys, calib):
    from fer.cli.export import main

    with pytest.raises(SystemExit) as exit_:
        main([str(ckpt), "--out", str(tmp_path / "m.onnx"), "--int8", "--calib", calib])
    assert exit_.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"error: argument --calib: {calib!r} must be a whole number >= 1")
    assert not (tmp_path / "m.onnx").exists()


def test_check_output_refuses_folders_and_existing_files(tmp_path):
    with pytest.raises(OutputError, match="is a folder"):
        check_output(tmp_path)
    (tmp_path / "m.onnx").write_bytes(b"x")
    with pytest.raises(OutputError, match="exists; pass --force"):
        check_output(tmp_path / "m.onnx")
    assert check_output(tmp_path / "m.onnx", force=True) == tmp_path / "m.onnx"


def test_bundled_onnx_is_the_bundled_network():
    from fer.checkpoints import BUNDLED_INT8, BUNDLED_MODEL, BUNDLED_ONNX

    if not (BUNDLED_MODEL.is_file() and BUNDLED_ONNX.is_file()):
        pytest.skip("no bundled model in fer/weights")
    names, meta = read_onnx_metadata(BUNDLED_ONNX)
    assert names == list(CLASSES) and meta["model"] == "fastcnn" and "FER-2013" in meta["data"]
    faces = synthetic_faces(32, seed=5)
    torch_backend = open_backend(BUNDLED_MODEL, "torch")
    assert compare(torch_backend, open_backend(BUNDLED_ONNX, "onnxruntime"), faces)["max_prob_diff"] < 1e-5
    if BUNDLED_INT8.is_file():
        assert compare(torch_backend, open_backend(BUNDLED_INT8, "onnxruntime"), faces)["max_prob_diff"] < 0.25
    assert EmotionClassifier.from_path(None).backend.path == str(BUNDLED_ONNX)
    assert EmotionClassifier.from_path(None, backend="torch").backend.path == str(BUNDLED_MODEL)

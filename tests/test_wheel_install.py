"""An installed wheel behaves like the checkout: same configs, same faces and labels, `ferkit` on PATH.

The wheel is built from a copy of the sources and installed without dependencies into a virtualenv that
sees the packages of the interpreter running the tests (the active virtualenv's, not its base
interpreter's, which `--system-site-packages` would give); every command runs from an empty folder with
PYTHONPATH unset, and the test checks that the installed `fer` is the one imported (not the checkout
through the editable install).
`pytest -m "not wheel"` leaves these tests out.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import os
import re
import shutil
import site
import subprocess
import sys
from pathlib import Path

import cv2
import pytest
from live_helpers import MEDIA, synthetic_frame

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ("fer", "conf", "pyproject.toml", "setup.py", "README.md")
PHOTOS = ("multi_face.jpg", "single_face.jpg", "0-f1-su-ph.jpg", "45-m7-di-ph.jpg")



def builds_wheels() -> bool:
    """pip, venv, and a setuptools that builds wheels: itself from 70.1 on, earlier ones with `wheel`
    (asked of the installed metadata: importing setuptools here would replace the distutils in use)."""
    if not all(importlib.util.find_spec(m) for m in ("pip", "setuptools", "venv")):
        return False
    release = tuple(int(part) for part in re.findall(r"\d+", importlib.metadata.version("setuptools"))[:2])
    return release >= (70, 1) or importlib.util.find_spec("wheel") is not None


pytestmark = [
    pytest.mark.wheel,
    pytest.mark.skipif(not builds_wheels(), reason="building and installing the wheel needs pip, venv and a "
                                                   "setuptools that builds wheels (>= 70.1, or the wheel package)"),
]

PREDICT = """
import json, sys
import fer
r = fer.Recognizer()
faces = {p: [[list(f.box), f.label] for f in r.predict(p)] for p in sys.argv[1:]}
print(json.dumps({"fer": fer.__file__, "faces": faces, "model": r.model_info}))
"""


def run(args: list, cwd: Path, timeout: int = 120) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PROJECT_ROOT")}
    return subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout)


@pytest.fixture(scope="module")
def venv(tmp_path_factory) -> Path:
    """A virtualenv outside the checkout with the wheel of this checkout installed (no dependencies)."""
    work = tmp_path_factory.mktemp("wheel")
    src = work / "src"
    for name in SOURCES:  # a copy, so the build leaves no build/ or egg-info behind in the checkout
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, src / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(ROOT / name, src / name)
    built = run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
                 "-w", work / "dist", src], cwd=work, timeout=300)
    assert built.returncode == 0, built.stderr[-3000:]
    (wheel,) = (work / "dist").glob("ferkit-*.whl")
    made = run([sys.executable, "-m", "venv", "--without-pip", work / "venv"], cwd=work)
    assert made.returncode == 0, made.stderr
    python = work / "venv" / "bin" / "python"
    see_site_packages_of_this_interpreter(python)
    installed = run([sys.executable, "-m", "pip", "--python", python, "install", "-q", "--no-deps", "--no-index",
                     wheel], cwd=work, timeout=300)
    assert installed.returncode == 0, installed.stderr[-3000:]
    return work / "venv"


def see_site_packages_of_this_interpreter(python: Path) -> None:
    """A .pth file in the new venv adding the site folders of the interpreter running the tests, after the
    venv's own (so the wheel's `fer` is found first). `site.addsitedir` also runs their .pth files."""
    code = "import json, site, sysconfig; print(json.dumps(sysconfig.get_paths()['purelib']))"
    res = run([python, "-c", code], cwd=python.parent)
    assert res.returncode == 0, res.stderr
    ours = site.getsitepackages() + ([site.getusersitepackages()] if site.ENABLE_USER_SITE else [])
    lines = [f"import site; site.addsitedir({folder!r})" for folder in ours if Path(folder).is_dir()]
    (Path(json.loads(res.stdout)) / "running_interpreter.pth").write_text("\n".join(lines) + "\n")


def test_the_wheel_carries_the_configs_and_imports_from_the_venv(venv, tmp_path):
    code = ("import fer, fer.conf, importlib.resources as r; print(fer.__file__); "
            "print(sorted(p.name for p in r.files('fer.conf').joinpath('detector').iterdir()))")
    res = run([venv / "bin" / "python", "-c", code], cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    location, detectors = res.stdout.splitlines()
    assert Path(location).is_relative_to(venv) and not Path(location).is_relative_to(ROOT)
    assert detectors == str(sorted(p.name for p in (ROOT / "conf" / "detector").glob("*.yaml")))


def test_installed_copy_finds_what_the_checkout_finds(venv, tmp_path):
    if MEDIA is None or not MEDIA.is_dir():
        pytest.skip("set FER_MEDIA to the media folder")
    photos = [MEDIA / p for p in PHOTOS if (MEDIA / p).is_file()]
    assert photos, f"none of {PHOTOS} in {MEDIA}"
    (tmp_path / "predict.py").write_text(PREDICT)
    results = {}
    for name, python in (("installed", venv / "bin" / "python"), ("checkout", sys.executable)):
        res = run([python, "predict.py", *photos], cwd=tmp_path)
        assert res.returncode == 0, res.stderr[-3000:]
        results[name] = json.loads(res.stdout.splitlines()[-1])
    installed, checkout = results["installed"], results["checkout"]
    assert Path(installed["fer"]).is_relative_to(venv) and Path(checkout["fer"]).is_relative_to(ROOT)
    assert installed["faces"] == checkout["faces"]
    assert sum(map(len, installed["faces"].values())) >= len(photos)  # faces were found, not none on both sides
    assert installed["model"]["model"] == checkout["model"]["model"]
    assert Path(installed["model"]["path"]).name == Path(checkout["model"]["path"]).name


def test_ferkit_is_on_path_and_runs_from_any_folder(venv, tmp_path):
    ferkit = venv / "bin" / "ferkit"
    help_ = run([ferkit, "--help"], cwd=tmp_path)
    assert help_.returncode == 0, help_.stderr
    assert all(f"  {c} " in help_.stdout for c in ("train", "eval", "webcam", "serve", "analyze", "export", "search"))
    if MEDIA is not None and (MEDIA / "single_face.jpg").is_file():
        photo = MEDIA / "single_face.jpg"
    else:
        photo = tmp_path / "frame.png"
        cv2.imwrite(str(photo), synthetic_frame())
    cwd = tmp_path / "elsewhere"
    cwd.mkdir()
    res = run([ferkit, "webcam", "headless=true", f"source={photo}", f"output={tmp_path / 'out'}"], cwd=cwd)
    assert res.returncode == 0, res.stderr[-3000:]
    assert len(list((tmp_path / "out").glob("*.png"))) == 1 and (tmp_path / "out" / "predictions.jsonl").is_file()
    assert list((cwd / "outputs" / "webcam" / "runs").glob("*/webcam.log"))  # Hydra's run folder: in the cwd

"""Every notebook runs top to bottom, on the real data when FER2013_ROOT is set and on synthetic faces otherwise."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.conftest import ROOT, make_folder_dataset

nbclient = pytest.importorskip("nbclient")
nbformat = pytest.importorskip("nbformat")

NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_runs(path: Path, tmp_path, monkeypatch, real_cache):
    real = os.environ.get("FER2013_ROOT")
    if real and Path(real).is_dir():
        monkeypatch.setenv("FER_CACHE_DIR", str(real_cache))
    else:
        monkeypatch.setenv("FER2013_ROOT", str(make_folder_dataset(tmp_path / "fer2013", n_train=8)))
        monkeypatch.setenv("FER_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    notebook = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(notebook, timeout=600, kernel_name="python3",
                                     resources={"metadata": {"path": str(ROOT)}})
    client.execute()
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    assert any("accuracy" in o.get("text", "") for o in outputs)

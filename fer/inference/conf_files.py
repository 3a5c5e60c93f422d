"""The shipped configuration files (conf/, installed as the package `fer.conf`) read as plain YAML.

They hold every default of the live pipeline once: the detectors take theirs from conf/detector/<name>.yaml
through `create_detector`, the Python API and the service theirs from conf/webcam.yaml and conf/serve.yaml.
Plain YAML costs a few milliseconds where Hydra's compose costs a few tenths of a second, and it works inside
another Hydra application too.
"""

from __future__ import annotations

from importlib.resources import files
from typing import Any


def load_conf(*parts: str) -> dict[str, Any]:
    """conf/<parts...> as a dict, e.g. load_conf("detector", "haar.yaml")."""
    import yaml

    return yaml.safe_load(files("fer.conf").joinpath(*parts).read_text(encoding="utf-8")) or {}


def detector_settings(name: str) -> dict[str, Any]:
    """conf/detector/<name>.yaml: the detector's name and its arguments.

    A detector registered in code without a file there gets just its name (its own defaults apply);
    `create_detector` refuses names nobody registered, listing the valid ones.
    """
    path = files("fer.conf") / "detector" / f"{name}.yaml"
    return load_conf("detector", f"{name}.yaml") if path.is_file() else {"name": name}

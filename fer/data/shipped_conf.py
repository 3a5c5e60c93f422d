"""The shipped training configs (conf/, installed as the package `fer.conf`) as the defaults of code used
without Hydra: a `FERDataModule`, `load_dataset`, `AugmentConfig` or `FERModule` (fer.training.settings)
built in Python takes every setting it is not given from the config option `conf/train.yaml` picks for
its group (or the named one), so each default is written once, in conf/, and the Python API and the
command line agree."""

from __future__ import annotations

from functools import cache
from importlib.resources import files
from typing import Any, cast

from omegaconf import DictConfig, OmegaConf


def resolved_dict(node: Any) -> dict[str, Any]:
    """A group of settings (a DictConfig) as plain dicts and lists, its interpolations resolved: what the
    code that takes settings is given."""
    settings = OmegaConf.to_container(node, resolve=True)
    assert isinstance(settings, dict), f"a group of settings, not a {type(settings).__name__}"
    return cast(dict[str, Any], settings)  # OmegaConf types keys as any key kind; a group's keys are names


def read_node(*parts: str) -> DictConfig:
    node = OmegaConf.create(files("fer.conf").joinpath(*parts).read_text(encoding="utf-8"))
    assert isinstance(node, DictConfig)  # every file of conf/ is a mapping
    return node


def has_option(group: str, option: str) -> bool:
    return (files("fer.conf") / group / f"{option}.yaml").is_file()


def train_option(group: str) -> str:
    """The option conf/train.yaml composes for `group` ("model" -> "cnn4")."""
    for entry in read_node("train.yaml").defaults:
        if isinstance(entry, DictConfig) and group in entry:
            return str(entry[group])
    raise KeyError(f"conf/train.yaml picks no option of {group}")


def option_node(group: str, option: str) -> DictConfig:
    """conf/<group>/<option>.yaml over the options of the same group it lists in its defaults."""
    node = read_node(group, f"{option}.yaml")
    parents = [read_node(group, f"{entry}.yaml") for entry in node.pop("defaults", [])
               if isinstance(entry, str) and entry != "_self_"]
    if not parents:
        return node
    merged = OmegaConf.merge(*parents, node)
    assert isinstance(merged, DictConfig)  # mappings merged into a mapping
    return merged


@cache
def _resolved(group: str, option: str) -> dict[str, Any]:
    # Interpolations (data.seed: ${seed}, data.root: ${paths.data_dir}/...) resolve against train.yaml's
    # own values and conf/paths/default.yaml, as a composed training config would.
    top = read_node("train.yaml")
    top.pop("defaults", None)
    root = OmegaConf.merge(top, {"paths": read_node("paths", "default.yaml"), group: option_node(group, option)})
    assert isinstance(root, DictConfig)
    return resolved_dict(root[group])


def shipped_group(group: str, option: str | None = None) -> dict[str, Any]:
    """The settings of conf/<group>/<option>.yaml, resolved (a fresh copy); `option` defaults to train.yaml's."""
    return _copy(_resolved(group, option or train_option(group)))


def train_setting(key: str) -> Any:
    """A setting conf/train.yaml holds itself, e.g. "finetune" (resolved; a fresh copy)."""
    top = read_node("train.yaml")
    top.pop("defaults", None)
    return _copy(resolved_dict(top)[key])


def data_settings(name: str | None = None) -> dict[str, Any]:
    """The shipped data settings of dataset `name` (conf/data/<name>.yaml; FER-2013's where it has none)."""
    return shipped_group("data", name if name and has_option("data", name) else None)


def _copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value

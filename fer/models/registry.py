"""A name -> constructor registry, so configs and checkpoints refer to models by name.

Every registered network names its classifier head in `classifier_name` (the dotted path of the layer that
maps features to class scores), so fine-tuning and transfer replace that layer rather than guess it.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable

from torch import nn

from fer.errors import ConfigError

_MODELS: dict[str, Callable[..., nn.Module]] = {}


def register_model(fn: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
    """Decorator: make `fn` available as create_model(fn.__name__)."""
    if fn.__name__ in _MODELS:
        raise ValueError(f"model {fn.__name__!r} is registered twice")
    _MODELS[fn.__name__] = fn
    return fn


def list_models() -> list[str]:
    return sorted(_MODELS)


def models_accepting(arg: str) -> list[str]:
    """Registered models whose constructor takes `arg` (e.g. 'pretrained')."""
    return [n for n in list_models() if arg in inspect.signature(_MODELS[n]).parameters]


def create_model(name: str, **kwargs) -> nn.Module:
    """Build a registered model, e.g. create_model('cnn4', num_classes=7)."""
    if name not in _MODELS:
        raise ConfigError(f"unknown model {name!r}; choose one of: {', '.join(list_models())}")
    accepted = inspect.signature(_MODELS[name]).parameters
    unknown = sorted(set(kwargs) - set(accepted))
    if unknown:
        raise ConfigError(f"model {name!r} takes no argument(s) {', '.join(unknown)}; it takes: {', '.join(accepted)}")
    return _MODELS[name](**kwargs)


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def get_classifier(net: nn.Module) -> tuple[str, nn.Linear]:
    """The (dotted name, layer) of the classifier head the network names in `classifier_name`."""
    name = getattr(net, "classifier_name", None)
    if not isinstance(name, str):
        raise ConfigError(f"{type(net).__name__} names no classifier head: give it a `classifier_name` attribute "
                          "with the dotted path of its last linear layer (as the registered models do)")
    layer = net.get_submodule(name)
    if not isinstance(layer, nn.Linear):
        raise ConfigError(f"{type(net).__name__}.classifier_name={name!r} is a {type(layer).__name__}, not a linear layer")
    return name, layer

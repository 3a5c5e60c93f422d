"""The one checker of settings, shared by every config: names (a misspelt key is refused with the valid
ones), whole numbers, fractions, positive numbers.

Values arrive as whatever Hydra or argparse parsed: `max_frames=abc` is the string "abc", `optim.lr=nan`
a float NaN, `true` a bool. Each check returns the value or raises a ConfigError naming the setting,
the value and what it must be.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

from fer.errors import ConfigError


def is_number(value: Any) -> bool:
    """An int or float, but not a bool (True would otherwise pass as 1)."""
    return isinstance(value, int | float) and not isinstance(value, bool)


def whole_number(value: Any, name: str, minimum: int, allow_none: bool = False) -> int | None:
    """An int >= minimum (or None where allowed); bools, floats and numeric strings are not ints here."""
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        extra = " or null" if allow_none else ""
        raise ConfigError(f"{name}={value!r} must be a whole number >= {minimum}{extra}")
    return value


def fraction(value: Any, name: str, low: float, high: float, low_open: bool = False) -> float:
    """A number in [low, high] (or (low, high] with low_open)."""
    ok = is_number(value) and (low < value if low_open else low <= value) and value <= high
    if not ok:
        bracket = "(" if low_open else "["
        raise ConfigError(f"{name}={value!r} must be a number in {bracket}{low}, {high}]")
    return float(value)


def positive_number(value: Any, name: str, allow_zero: bool = False) -> float:
    """A finite number > 0 (>= 0 with allow_zero): NaN and infinity are refused, not trained on."""
    ok = is_number(value) and math.isfinite(value) and (value >= 0 if allow_zero else value > 0)
    if not ok:
        bound = ">= 0" if allow_zero else "> 0"
        raise ConfigError(f"{name}={value!r} must be a finite number {bound}")
    return float(value)


def unknown_setting(name: str, valid: Iterable[Any]) -> ConfigError:
    """The refusal of the setting `name` ("smoothing.ema_alpah"), listing the valid keys of its group."""
    group, _, key = str(name).rpartition(".")
    choices = ", ".join(sorted(map(str, valid)))
    if group:
        return ConfigError(f"{group} has no setting {key}; valid {group} settings: {choices}")
    return ConfigError(f"there is no setting {key}; valid settings: {choices}")


def known_settings(given: Mapping[str, Any], valid: Mapping[str, Any], where: str = "") -> None:
    """Raise ConfigError for the first key of `given`, at any depth, that `valid` does not have, or for a
    single value given where `valid` holds a group of settings. Below a key whose valid value is not a
    mapping (a plain value; None for a config group this checker does not describe) anything goes."""
    for key, value in given.items():
        name = f"{where}.{key}" if where else str(key)
        if key not in valid:
            raise unknown_setting(name, valid)
        group = valid[key]
        if isinstance(group, Mapping) and group:
            if not isinstance(value, Mapping):
                raise ConfigError(f"{name}={value!r} is a group of settings, not a value; set one of them, "
                                  f"e.g. {name}.{next(iter(group))}=VALUE")
            known_settings(value, group, name)

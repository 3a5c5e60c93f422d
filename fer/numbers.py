"""The one checker of settings, shared by every config: names (a misspelt key is refused with the valid
ones, a renamed one is read under its new name), kinds, choices, whole numbers, fractions, positive
numbers, flags, and records of settings that declare their checks beside their fields (`read_record`).

Values arrive as whatever Hydra or argparse parsed: `max_frames=abc` is the string "abc", `optim.lr=nan`
a float NaN, `true` a bool. Each check returns the value or raises a ConfigError naming the setting,
the value and what it must be.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Iterable, Mapping
from dataclasses import fields
from typing import Any, Literal, overload

from fer.errors import ConfigError


def is_number(value: Any) -> bool:
    """An int or float, but not a bool (True would otherwise pass as 1)."""
    return isinstance(value, int | float) and not isinstance(value, bool)


@overload
def whole_number(value: Any, name: str, minimum: int, allow_none: Literal[False] = False) -> int: ...
@overload
def whole_number(value: Any, name: str, minimum: int, allow_none: bool) -> int | None: ...
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


def bounded_number(value: Any, name: str, minimum: float = 0, inclusive: bool = False, whole: bool = False) -> float:
    """A number > minimum (>= with inclusive), NaN refused; with whole=True an integral one (2.0 counts),
    returned as an int."""
    kind = "a whole number" if whole else "a number"
    bound = f">= {minimum:g}" if inclusive else f"> {minimum:g}"
    ok = is_number(value) and not math.isnan(value) and (not whole or float(value).is_integer())
    if not ok or not (value >= minimum if inclusive else value > minimum):
        raise ConfigError(f"{name}={value!r} must be {kind} {bound}")
    return int(value) if whole else float(value)


def flag(value: Any, name: str) -> bool:
    """true or false, not a string or number that would read as one."""
    if not isinstance(value, bool):
        raise ConfigError(f"{name}={value!r} must be true or false")
    return value


# A setting's check: (value, its dotted name) -> the value, or a ConfigError.
Check = Callable[[Any, str], Any]


def check_values(given: Mapping[str, Any], checks: Mapping[str, Check], where: str = "") -> None:
    """Run the check of every key of `given` that `checks` has (keys left out keep their checked defaults)."""
    for key, check in checks.items():
        if key in given:
            check(given[key], f"{where}.{key}" if where else key)


# Settings that were renamed: old dotted name -> new one. The old names keep working.
RENAMED_SETTINGS = {
    "smoothing.stagger": "smoothing.classify_in_background",
    "detector.still_input_width": "detector.photo_input_width",
}


def _warn_renamed(old: str, new: str) -> None:
    # FutureWarning: shown to the people who type settings, not only to developers (DeprecationWarning).
    warnings.warn(f"the setting {old} is now called {new}", FutureWarning, stacklevel=3)


def renamed_settings(given: Mapping[str, Any]) -> dict[str, Any]:
    """`given` (nested) with every old name of RENAMED_SETTINGS moved to its new one."""
    out = dict(given)
    for old, new in RENAMED_SETTINGS.items():
        group, _, key = old.partition(".")
        inner = out.get(group)
        if isinstance(inner, Mapping) and key in inner:
            _warn_renamed(old, new)
            inner = dict(inner)
            inner[new.partition(".")[2]] = inner.pop(key)
            out[group] = inner
    return out


def renamed_overrides(overrides: Iterable[str]) -> list[str]:
    """Command-line overrides (`smoothing.stagger=false`, `+smoothing.stagger=...`) under the new names."""
    out = []
    for text in overrides:
        key, eq, value = text.partition("=")
        bare = key.lstrip("+~")
        if bare in RENAMED_SETTINGS:
            _warn_renamed(bare, RENAMED_SETTINGS[bare])
            text = key[: len(key) - len(bare)] + RENAMED_SETTINGS[bare] + eq + value
        out.append(text)
    return out


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


def one_of(value: Any, name: str, choices: Iterable[Any]) -> Any:
    """One of the listed choices, e.g. an optimizer's name."""
    choices = list(choices)
    if value not in choices:
        raise ConfigError(f"{name}={value!r} is not one of {', '.join(map(str, choices))}")
    return value


KINDS = {bool: "true or false", int: "a whole number", float: "a number", str: "a word"}


def of_kind(value: Any, name: str, kind: type) -> Any:
    """A value of the kind a setting holds: a flag for a flag, a number for a number (an int passes as a
    float, a bool never as a number), a word for a word; other kinds are not checked here."""
    if kind is bool:
        ok = isinstance(value, bool)
    elif kind is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif kind is float:
        ok = is_number(value)
    elif kind is str:
        ok = isinstance(value, str)
    else:
        return value
    if not ok:
        raise ConfigError(f"{name}={value!r} must be {KINDS[kind]}")
    return value


def read_record(record: type, given: Mapping[str, Any], where: str,
                defaults: Callable[[], Mapping[str, Any]]) -> Any:
    """The dataclass `record` of settings from `given` over `defaults()` (the shipped config's values, read
    only when a setting is missing).

    A key the record lacks is refused with the valid ones. Each field is checked beside its declaration:
    first its kind (`metadata["kind"]`, a type KINDS names), then `metadata["check"]`, a function
    (value, name) -> value of this module, whose result is kept (so 1 becomes 1.0 where a number is asked).
    """
    names = [f.name for f in fields(record)]
    for key in given:
        if key not in names:
            raise unknown_setting(f"{where}.{key}", names)
    missing = [n for n in names if n not in given]
    values = {**{k: v for k, v in (defaults() if missing else {}).items() if k in names}, **given}
    out: dict[str, Any] = {}
    for f in fields(record):
        if f.name not in values:
            raise ConfigError(f"{where}.{f.name} is not set; give it, e.g. {where}.{f.name}=VALUE")
        value, name = values[f.name], f"{where}.{f.name}"
        if f.metadata.get("optional") and value is None:
            out[f.name] = None
            continue
        if "kind" in f.metadata:
            value = of_kind(value, name, f.metadata["kind"])
        check = f.metadata.get("check")
        out[f.name] = check(value, name) if check else value
    return record(**out)

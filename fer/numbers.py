"""The one checker of numeric settings, shared by every config: whole numbers, fractions, positive numbers.

Values arrive as whatever Hydra or argparse parsed: `max_frames=abc` is the string "abc", `optim.lr=nan`
a float NaN, `true` a bool. Each check returns the value or raises a ConfigError naming the setting,
the value and what it must be.
"""

from __future__ import annotations

import math
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

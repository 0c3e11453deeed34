"""Argument validation shared by every kerastools component.

Every message names the argument and the value received, in Keras's form::

    Argument `keep_prob` must be in (0, 1]. Received: keep_prob=0

Wrong *types* raise `TypeError`, wrong *values* raise `ValueError`.
"""

import math
import numbers


def _received(name, value):
    return f"Received: {name}={value!r}"


def _interval(low, high, low_inclusive, high_inclusive):
    """Human-readable description of an interval, e.g. ``in [0, 1)`` or ``> 0``."""
    if low is not None and high is not None:
        left = "[" if low_inclusive else "("
        right = "]" if high_inclusive else ")"
        return f"in {left}{low:g}, {high:g}{right}"
    if low is not None:
        return f"{'>=' if low_inclusive else '>'} {low:g}"
    if high is not None:
        return f"{'<=' if high_inclusive else '<'} {high:g}"
    return "finite"


def check_number(
    name,
    value,
    *,
    low=None,
    high=None,
    low_inclusive=True,
    high_inclusive=True,
    allow_none=False,
):
    """Validate a real number and return it as a Python `float`.

    Args:
        name: the argument's name, used in the message.
        value: the value received.
        low, high: bounds; `None` for unbounded.
        low_inclusive, high_inclusive: whether each bound is allowed.
        allow_none: whether `None` passes through unchanged.

    Raises:
        TypeError: `value` is not a real number (booleans are refused).
        ValueError: `value` is NaN or infinite, whatever the bounds (the
            message says "must be finite [and in the interval]"), or out of range.
    """
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(
            f"Argument `{name}` must be a real number. {_received(name, value)} "
            f"of type {type(value).__name__}"
        )
    value = float(value)
    if not math.isfinite(value):
        # NaN and infinities are refused whatever the bounds: a rate, a
        # tolerance or a threshold of infinity is as meaningless as NaN (and
        # `inf >= 0` would otherwise slip through a one-sided bound).
        interval = _interval(low, high, low_inclusive, high_inclusive)
        interval = "finite" if interval == "finite" else f"finite and {interval}"
        raise ValueError(f"Argument `{name}` must be {interval}. {_received(name, value)}")
    ok = True
    if low is not None:
        ok = value >= low if low_inclusive else value > low
    if ok and high is not None:
        ok = value <= high if high_inclusive else value < high
    if not ok:
        interval = _interval(low, high, low_inclusive, high_inclusive)
        raise ValueError(f"Argument `{name}` must be {interval}. {_received(name, value)}")
    return value


def check_int(name, value, *, low=None, high=None, allow_none=False):
    """Validate an integer (not a bool) within inclusive bounds and return it as `int`."""
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(
            f"Argument `{name}` must be an integer. {_received(name, value)} "
            f"of type {type(value).__name__}"
        )
    value = int(value)
    if (low is not None and value < low) or (high is not None and value > high):
        raise ValueError(
            f"Argument `{name}` must be an integer {_interval(low, high, True, True)}. "
            f"{_received(name, value)}"
        )
    return value


def check_bool(name, value):
    """Validate a boolean and return it."""
    if not isinstance(value, bool):
        raise TypeError(
            f"Argument `{name}` must be a bool. {_received(name, value)} "
            f"of type {type(value).__name__}"
        )
    return value


def check_choice(name, value, choices):
    """Validate that `value` is one of `choices` (compared exactly) and return it."""
    if not isinstance(value, str) or value not in choices:
        options = ", ".join(repr(c) for c in choices)
        raise ValueError(f"Argument `{name}` must be one of {options}. {_received(name, value)}")
    return value


def check_seed(name, value):
    """Validate a seed: `None` or a non-negative integer."""
    return check_int(name, value, low=0, allow_none=True)

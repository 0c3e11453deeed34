"""kerastools._validation: the shared argument checks and their messages."""

import numpy as np
import pytest

from kerastools import _validation as v


def test_check_number_accepts_reals_and_returns_float():
    assert v.check_number("x", 3) == 3.0 and isinstance(v.check_number("x", 3), float)
    assert v.check_number("x", np.float32(0.5), low=0, high=1) == 0.5
    assert v.check_number("x", None, allow_none=True) is None


@pytest.mark.parametrize(
    "kwargs, value, message",
    [
        ({"low": 0, "high": 1, "high_inclusive": False}, 1.0, r"Argument `x` must be in \[0, 1\). Received: x=1.0"),
        ({"low": 0, "low_inclusive": False}, 0, r"Argument `x` must be > 0. Received: x=0.0"),
        ({"high": 2}, 3, r"Argument `x` must be <= 2. Received: x=3.0"),
        ({}, float("inf"), r"Argument `x` must be finite. Received: x=inf"),
        ({"low": 0}, float("nan"), r"Argument `x` must be >= 0. Received: x=nan"),
    ],
)
def test_check_number_ranges(kwargs, value, message):
    with pytest.raises(ValueError, match=message):
        v.check_number("x", value, **kwargs)


@pytest.mark.parametrize("value", [True, "1", None, [1.0]])
def test_check_number_types(value):
    with pytest.raises(TypeError, match=r"Argument `x` must be a real number. Received: x="):
        v.check_number("x", value)


def test_check_int_bool_choice_seed():
    assert v.check_int("n", np.int64(4), low=1) == 4
    with pytest.raises(ValueError, match=r"Argument `n` must be an integer in \[1, 3\]. Received: n=4"):
        v.check_int("n", 4, low=1, high=3)
    with pytest.raises(TypeError, match=r"Argument `n` must be an integer. Received: n=True of type bool"):
        v.check_int("n", True)
    assert v.check_bool("flag", False) is False
    with pytest.raises(TypeError, match=r"Argument `flag` must be a bool. Received: flag=1 of type int"):
        v.check_bool("flag", 1)
    assert v.check_choice("mode", "a", ("a", "b")) == "a"
    with pytest.raises(ValueError, match=r"Argument `mode` must be one of 'a', 'b'. Received: mode='c'"):
        v.check_choice("mode", "c", ("a", "b"))
    with pytest.raises(ValueError, match=r"Received: mode=1"):
        v.check_choice("mode", 1, ("a", "b"))
    assert v.check_seed("seed", None) is None
    with pytest.raises(ValueError, match=r"Argument `seed` must be an integer >= 0. Received: seed=-3"):
        v.check_seed("seed", -3)

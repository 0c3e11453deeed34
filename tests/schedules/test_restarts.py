"""CosineDecayRestarts at its restart steps, where a float logarithm can pick the
wrong period: checked against exact rational arithmetic."""

import math
from fractions import Fraction

import numpy as np
import pytest
import tensorflow as tf

from kerastools import schedules as S


def _exact_period(t, d, g):
    """(i, f) with exact rationals: period i starts at S_i = d (t**i - 1) / (t - 1)."""
    t, g = Fraction(t), Fraction(g)
    i, start, length = 0, Fraction(0), Fraction(d)
    while start + length <= g:
        start, length, i = start + length, length * t, i + 1
    return i, float((g - start) / length)


def _boundary_steps(t, d, limit):
    """The integer steps on either side of each restart, up to `limit`."""
    t, start, length, steps = Fraction(t), Fraction(0), Fraction(d), []
    while start < limit:
        steps += [math.ceil(start) - 1, math.ceil(start)]
        start, length = start + length, length * t
    return [g for g in steps if g >= 0]


@pytest.mark.parametrize(
    "t, d, limit",
    [(2.0, 1, 2**40), (2.0, 10, 2**40), (2.0, 3, 2**40), (1.5, 7, 2**50), (1.25, 1, 2**51), (3.0, 7, 2**50)],
)
def test_rate_at_restart_boundaries(t, d, limit):
    """Among these are steps where floor(log_t(...)) is one period too low (e.g.
    t=2, d=1, g=7) and, near 1e15, one too high (t=1.25, d=1)."""
    m_mul, alpha = 0.9, 0.01
    steps = _boundary_steps(t, d, limit)
    schedule = S.CosineDecayRestarts(1.0, d, t_mul=t, m_mul=m_mul, alpha=alpha)
    got = schedule(tf.constant(steps, tf.int64)).numpy()
    expected = []
    for g in steps:
        i, f = _exact_period(t, d, g)
        expected.append((1 - alpha) * m_mul**i * 0.5 * (1 + math.cos(math.pi * f)) + alpha)
    np.testing.assert_allclose(got, expected, rtol=1e-7, atol=1e-12, err_msg=str(steps))

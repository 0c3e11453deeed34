"""RMSprop: steps checked by hand (float64, both paths where a kernel exists)."""

import math

import numpy as np
import pytest

import kerastools as kt
from tests.optimizers.cases import BOTH_PATHS, by_hand

EPS = 1e-7


@pytest.mark.parametrize(**BOTH_PATHS)
@pytest.mark.parametrize("placement", ["inside", "outside"])
def test_two_steps(placement, fused, float64):
    # s1 = 0.25 * 4 = 1; s2 = 0.75 * 1 + 0.25 * 16 = 4.75
    root = (lambda s: math.sqrt(s + EPS)) if placement == "inside" else (lambda s: math.sqrt(s) + EPS)
    optimizer = kt.RMSprop(learning_rate=0.1, rho=0.75, epsilon_placement=placement, fused=fused)
    w1, w2 = by_hand(optimizer, [1.0], [[2.0], [4.0]])
    e1 = 1 - 0.1 * 2 / root(1.0)
    e2 = e1 - 0.1 * 4 / root(4.75)
    np.testing.assert_allclose([w1[0], w2[0]], [e1, e2], rtol=1e-14)


@pytest.mark.parametrize(**BOTH_PATHS)
def test_centred_with_momentum(fused, float64):
    # s1 = 1, gbar1 = 0.5, d1 = 0.75; p1 = 0.1 * 2 / sqrt(0.75 + eps)
    # s2 = 4.75, gbar2 = 0.375 + 1 = 1.375, d2 = 4.75 - 1.890625; p2 = 0.5 p1 + 0.1 * 4 / sqrt(d2 + eps)
    optimizer = kt.RMSprop(learning_rate=0.1, rho=0.75, momentum=0.5, centered=True, fused=fused)
    w1, w2 = by_hand(optimizer, [1.0], [[2.0], [4.0]])
    p1 = 0.2 / math.sqrt(0.75 + EPS)
    p2 = 0.5 * p1 + 0.4 / math.sqrt(4.75 - 1.890625 + EPS)
    np.testing.assert_allclose([w1[0], w2[0]], [1 - p1, 1 - p1 - p2], rtol=1e-14)


def test_momentum_slot_exists_even_without_momentum():
    optimizer = kt.RMSprop()
    by_hand(optimizer, [1.0], [[2.0]])
    slots = sorted(v.path.split("_")[-1] for v in optimizer.variables[2:])
    assert slots == ["momentum", "velocity"]

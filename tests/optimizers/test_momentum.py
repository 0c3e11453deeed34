"""Momentum (the course's EWMA form): steps checked by hand (float64, both paths)."""

import numpy as np
import pytest

import kerastools as kt
from tests.optimizers.cases import BOTH_PATHS, by_hand


@pytest.mark.parametrize(**BOTH_PATHS)
def test_two_steps(fused, float64):
    # v1 = 0.1 * 2 = 0.2, w1 = 1 - 0.1 * 0.2 = 0.98
    # v2 = 0.9 * 0.2 + 0.1 * 2 = 0.38, w2 = 0.98 - 0.038 = 0.942
    w1, w2 = by_hand(kt.Momentum(learning_rate=0.1, beta=0.9, fused=fused), [1.0], [[2.0], [2.0]])
    np.testing.assert_allclose([w1[0], w2[0]], [0.98, 0.942], rtol=1e-15)


@pytest.mark.parametrize(**BOTH_PATHS)
def test_bias_correction_removes_the_zero_start(fused, float64):
    # A constant gradient: v_t / (1 - beta ** t) = 2 exactly, so every step is 0.1 * 2.
    optimizer = kt.Momentum(learning_rate=0.1, beta=0.9, bias_correction=True, fused=fused)
    values = by_hand(optimizer, [1.0], [[2.0]] * 3)
    np.testing.assert_allclose([w[0] for w in values], [0.8, 0.6, 0.4], rtol=1e-14)


@pytest.mark.parametrize(**BOTH_PATHS)
def test_velocity_slot_holds_v_over_one_minus_beta(fused, float64):
    optimizer = kt.Momentum(learning_rate=0.1, beta=0.9, fused=fused)
    by_hand(optimizer, [1.0], [[2.0], [2.0]])
    (velocity,) = [v for v in optimizer.variables if v.path.endswith("velocity")]
    np.testing.assert_allclose(velocity.numpy(), [0.38 / 0.1], rtol=1e-14)  # v2 = 0.38

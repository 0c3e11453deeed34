"""Adagrad: steps checked by hand (float64, both paths), both epsilon placements."""

import math

import numpy as np
import pytest

import kerastools as kt
from tests.optimizers.cases import BOTH_PATHS, by_hand


@pytest.mark.parametrize(**BOTH_PATHS)
def test_two_steps_epsilon_inside(fused, float64):
    # h starts at 0.1: h1 = 0.1 + 4, h2 = h1 + 1
    optimizer = kt.Adagrad(learning_rate=0.5, fused=fused)
    w1, w2 = by_hand(optimizer, [1.0], [[2.0], [-1.0]])
    e1 = 1 - 0.5 * 2 / math.sqrt(4.1 + 1e-7)
    e2 = e1 + 0.5 * 1 / math.sqrt(5.1 + 1e-7)
    np.testing.assert_allclose([w1[0], w2[0]], [e1, e2], rtol=1e-14)
    # The accumulator holds h + epsilon (see the class's note).
    (accumulator,) = [v for v in optimizer.variables if v.path.endswith("accumulator")]
    np.testing.assert_allclose(accumulator.numpy(), [5.1 + 1e-7], rtol=1e-15)


@pytest.mark.parametrize(**BOTH_PATHS)
def test_two_steps_epsilon_outside(fused, float64):
    # The course's AdaGrad class: h from 0, sqrt(h) + 1e-7
    optimizer = kt.Adagrad(
        learning_rate=0.5, initial_accumulator_value=0.0, epsilon_placement="outside", fused=fused
    )
    w1, w2 = by_hand(optimizer, [1.0], [[2.0], [-1.0]])
    e1 = 1 - 0.5 * 2 / (2 + 1e-7)
    e2 = e1 + 0.5 * 1 / (math.sqrt(5) + 1e-7)
    np.testing.assert_allclose([w1[0], w2[0]], [e1, e2], rtol=1e-14)

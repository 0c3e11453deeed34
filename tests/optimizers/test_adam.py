"""Adam and AdamW: steps checked by hand (float64, both paths where a kernel
exists), the three epsilon placements, AMSGrad, decoupled decay."""

import math

import numpy as np
import pytest

import kerastools as kt
from tests.optimizers.cases import BOTH_PATHS, by_hand

B1, B2 = 0.9, 0.999


def _paths(placement):
    return [None, False] if placement != "inside" else [False]


@pytest.mark.parametrize(
    "placement, fused",
    [(p, f) for p in ("hat", "outside", "inside") for f in _paths(p)],
)
def test_first_step(placement, fused, float64):
    # m1 = 0.1 * 2 = 0.2, v1 = 0.001 * 4 = 0.004; m_hat = 2, v_hat = 4
    eps, lr = 1e-3, 0.01
    optimizer = kt.Adam(learning_rate=lr, epsilon=eps, epsilon_placement=placement, fused=fused)
    (w,) = by_hand(optimizer, [1.0], [[2.0]])
    step = {
        "hat": lr * math.sqrt(1 - B2) / (1 - B1) * 0.2 / (math.sqrt(0.004) + eps),
        "outside": lr * 2 / (2 + eps),
        "inside": lr * 2 / math.sqrt(4 + eps),
    }[placement]
    np.testing.assert_allclose(w, [1 - step], rtol=1e-14)


@pytest.mark.parametrize(**BOTH_PATHS)
def test_two_steps_against_the_course_code(fused, float64):
    """The course's update_parameters_with_adam (epsilon inside) and the paper's
    Algorithm 1 (outside), unrolled for two steps."""
    lr, eps = 0.01, 1e-8
    optimizer = kt.Adam(learning_rate=lr, epsilon=eps, epsilon_placement="outside", fused=fused)
    course = kt.Adam(learning_rate=lr, epsilon=eps, epsilon_placement="inside")
    grads = [[2.0], [-1.0]]
    m = v = 0.0
    w_outside = w_inside = 1.0
    for t, (g,) in enumerate(grads, start=1):
        m = B1 * m + (1 - B1) * g
        v = B2 * v + (1 - B2) * g**2
        m_hat, v_hat = m / (1 - B1**t), v / (1 - B2**t)
        w_inside = w_inside - lr * m_hat / math.sqrt(v_hat + eps)  # the course
        w_outside = w_outside - lr * m_hat / (math.sqrt(v_hat) + eps)  # the paper
    np.testing.assert_allclose(by_hand(optimizer, [1.0], grads)[-1], [w_outside], rtol=1e-14)
    np.testing.assert_allclose(by_hand(course, [1.0], grads)[-1], [w_inside], rtol=1e-14)


def test_amsgrad_keeps_the_largest_second_moment(float64):
    # v1 = 0.1 * 4 = 0.4; v2 = 0.9 * 0.4 + 0.1 * 0.01 = 0.361 < v_max = 0.4
    optimizer = kt.Adam(learning_rate=0.1, beta_2=0.9, epsilon=1e-7, amsgrad=True)
    w1, w2 = by_hand(optimizer, [1.0], [[2.0], [0.1]])
    m2 = 0.9 * 0.2 + 0.1 * 0.1
    alpha2 = 0.1 * math.sqrt(1 - 0.9**2) / (1 - B1**2)
    np.testing.assert_allclose(w2 - w1, [-alpha2 * m2 / (math.sqrt(0.4) + 1e-7)], rtol=1e-13)


@pytest.mark.parametrize(**BOTH_PATHS)
def test_adamw_decays_then_steps(fused, float64):
    # w = 1 - 0.1 * 0.5 * 1 = 0.95, then the Adam step of test_first_step ("hat")
    optimizer = kt.AdamW(learning_rate=0.1, weight_decay=0.5, epsilon=1e-3, fused=fused)
    (w,) = by_hand(optimizer, [1.0], [[2.0]])
    step = 0.1 * math.sqrt(1 - B2) / (1 - B1) * 0.2 / (math.sqrt(0.004) + 1e-3)
    np.testing.assert_allclose(w, [0.95 - step], rtol=1e-14)

"""SGD: steps checked by hand (float64, both paths)."""

import numpy as np
import pytest

import kerastools as kt
from tests.optimizers.cases import BOTH_PATHS, by_hand

W0, G = [1.0, -2.0], [2.0, 0.5]


@pytest.mark.parametrize(**BOTH_PATHS)
def test_plain_step(fused, float64):
    # w - lr * g = [1 - 0.2, -2 - 0.05]
    (w,) = by_hand(kt.SGD(learning_rate=0.1, fused=fused), W0, [G])
    np.testing.assert_allclose(w, [0.8, -2.05], rtol=1e-15)


@pytest.mark.parametrize(**BOTH_PATHS)
def test_heavy_ball_two_steps(fused, float64):
    # v1 = -0.1 g = [-0.2, -0.05]; w1 = [0.8, -2.05]
    # v2 = 0.9 v1 - 0.1 g = [-0.38, -0.095]; w2 = [0.42, -2.145]
    w1, w2 = by_hand(kt.SGD(learning_rate=0.1, momentum=0.9, fused=fused), W0, [G, G])
    np.testing.assert_allclose(w1, [0.8, -2.05], rtol=1e-15)
    np.testing.assert_allclose(w2, [0.42, -2.145], rtol=1e-14)


@pytest.mark.parametrize(**BOTH_PATHS)
def test_nesterov_two_steps(fused, float64):
    # v1 = [-0.2, -0.05]; w1 = w0 + 0.9 v1 - 0.1 g = [1 - 0.38, -2 - 0.095]
    # v2 = [-0.38, -0.095]; w2 = w1 + 0.9 v2 - 0.1 g = [0.62 - 0.542, -2.095 - 0.1355]
    w1, w2 = by_hand(kt.SGD(learning_rate=0.1, momentum=0.9, nesterov=True, fused=fused), W0, [G, G])
    np.testing.assert_allclose(w1, [0.62, -2.095], rtol=1e-14)
    np.testing.assert_allclose(w2, [0.078, -2.2305], rtol=1e-13)


def test_no_slot_without_momentum():
    optimizer = kt.SGD()
    by_hand(optimizer, W0, [G])
    assert [v.path.split("/")[-1] for v in optimizer.variables] == ["iteration", "learning_rate"]

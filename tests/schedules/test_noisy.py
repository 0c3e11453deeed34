"""NoisyLinearCosineDecay: reproducible per (seed, step), TF1's noise distribution."""

import numpy as np
import pytest
import tensorflow as tf
from scipy import stats

from kerastools import schedules as S
from tests.conformance import assert_config_round_trip

D, R0 = 20, 0.1


def _noise_past_decay_steps(values):
    """With num_periods=1 and beta=0, past decay_steps the linear term is 0 and the
    cosine 1, so r = R0 * eps: the noise itself."""
    return np.asarray(values, np.float64) / R0


@pytest.mark.parametrize("source", ["kerastools", "tf1"])
def test_noise_is_normal_with_tf1_variance(source):
    n = 3000
    steps = np.arange(D, D + n)
    if source == "kerastools":
        schedule = S.NoisyLinearCosineDecay(R0, D, num_periods=1.0, beta=0.0, seed=7)
        values = schedule(tf.constant(steps, tf.int64)).numpy()
    else:
        tf.random.set_seed(7)  # TF1 draws fresh noise at every call; make the test deterministic
        values = tf.compat.v1.train.noisy_linear_cosine_decay(
            tf.constant(R0), tf.constant(steps, tf.int64), D, num_periods=1.0, beta=0.0
        )().numpy()
    noise = _noise_past_decay_steps(values)
    std = np.sqrt(1.0 / (1.0 + D) ** 0.55)  # initial_variance / (1 + min(g, d)) ** variance_decay
    assert abs(noise.mean()) < 4 * std / np.sqrt(n)  # 4 standard errors
    assert abs(noise.std() / std - 1.0) < 4 / np.sqrt(2 * n)  # 4 standard errors of a std
    assert stats.kstest(noise / std, "norm").pvalue > 1e-3


def test_variance_decays_with_the_step():
    """Before decay_steps the noise at step g has variance 1 / (1 + g) ** 0.55:
    divided by its standard deviation, the noise at steps 0 ... n - 1 is i.i.d. N(0, 1)."""
    n, d = 3000, 10**6  # d >> n: the linear and cosine terms stay close to 1
    steps = tf.range(n, dtype=tf.int64)
    noisy = S.NoisyLinearCosineDecay(R0, d, beta=0.0, seed=11)(steps).numpy().astype(np.float64)
    exact = S.NoisyLinearCosineDecay(R0, d, beta=0.0, initial_variance=0.0)(steps).numpy().astype(np.float64)
    g = np.arange(n)
    cosine = 0.5 * (1 + np.cos(np.pi * g / d))
    z = (noisy - exact) / (R0 * cosine) / np.sqrt(1.0 / (1.0 + g) ** 0.55)
    assert abs(z.mean()) < 4 / np.sqrt(n)
    assert abs(z.std() - 1.0) < 4 / np.sqrt(2 * n)
    assert stats.kstest(z, "norm").pvalue > 1e-3


def test_same_seed_same_step_same_rate_everywhere():
    schedule = S.NoisyLinearCosineDecay(R0, D, seed=123)
    steps = tf.constant([0, 5, 5, 19, 1000, 1_000_000_000], tf.int64)
    eager = schedule(steps).numpy()
    assert eager[1] == eager[2]
    scalar = [float(schedule(s)) for s in steps]
    xla = tf.function(schedule, jit_compile=True)
    compiled = [float(xla(s)) for s in steps]
    clone = assert_config_round_trip(schedule)
    np.testing.assert_array_equal(eager, scalar)
    np.testing.assert_array_equal(eager, compiled)
    np.testing.assert_array_equal(clone(steps).numpy(), eager)
    assert float(schedule(tf.constant(5.0))) == eager[1]  # a float step draws the same


def test_different_seed_values_and_steps_differ():
    a = S.NoisyLinearCosineDecay(R0, D, seed=1)(tf.range(10)).numpy()
    b = S.NoisyLinearCosineDecay(R0, D, seed=2)(tf.range(10)).numpy()
    assert np.all(a != b)
    assert len(set(a.tolist())) == 10


def test_unseeded_schedule_records_its_seed():
    schedule = S.NoisyLinearCosineDecay(R0, D)
    assert isinstance(schedule.seed, int)
    assert schedule.get_config()["seed"] == schedule.seed
    clone = S.NoisyLinearCosineDecay.from_config(schedule.get_config())
    np.testing.assert_array_equal(clone(tf.range(20)).numpy(), schedule(tf.range(20)).numpy())


def test_epochs_draw_once_per_epoch():
    schedule = S.NoisyLinearCosineDecay(R0, D, num_periods=1.0, beta=0.0, seed=5, steps_per_epoch=4)
    values = schedule(tf.range(4 * D, 4 * D + 12)).numpy()
    np.testing.assert_array_equal(values[:4], values[0])
    assert values[4] != values[0] and values[8] != values[4]

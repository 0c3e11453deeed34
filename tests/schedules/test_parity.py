"""Parity with TensorFlow 1 (`tf.compat.v1.train.*_decay`, the ground truth named in
docs/conventions.md) and with Keras's namesakes, over steps 0 ... 10 * decay_steps."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from kerastools import schedules as S

T1 = tf.compat.v1.train
K = keras.optimizers.schedules
D = 20  # decay_steps
STEPS = np.arange(0, 10 * D + 1)
R0 = 0.1


def _ours(schedule):
    return np.asarray(schedule(tf.constant(STEPS, tf.int64)).numpy(), np.float64)


def _tf1(fn, dtype):
    """Evaluate a TF1 decay (which returns a callable in eager mode) at STEPS."""
    return np.asarray(fn(tf.constant(R0, dtype), tf.constant(STEPS, tf.int64))(), np.float64)



def f64(x):
    # TF1 converts Python-float arguments to float32 before casting them to the
    # rate's dtype (0.6 would become 0.6000000238); float64 tensors keep them exact.
    return tf.constant(x, tf.float64)


# These TF1 functions compute in the dtype of `learning_rate`: given float64
# they are exact to float64 rounding, and our float32 result must agree to 1e-7.
FLOAT64_CASES = {
    "exponential": (
        lambda lr, g: T1.exponential_decay(lr, g, D, f64(0.6)),
        S.ExponentialDecay(R0, D, 0.6),
    ),
    "exponential_staircase": (
        lambda lr, g: T1.exponential_decay(lr, g, D, f64(0.6), staircase=True),
        S.ExponentialDecay(R0, D, 0.6, staircase=True),
    ),
    "natural_exp": (
        lambda lr, g: T1.natural_exp_decay(lr, g, D, f64(0.4)),
        S.NaturalExpDecay(R0, D, 0.4),
    ),
    "natural_exp_staircase": (
        lambda lr, g: T1.natural_exp_decay(lr, g, D, f64(0.4), staircase=True),
        S.NaturalExpDecay(R0, D, 0.4, staircase=True),
    ),
    "inverse_time": (
        lambda lr, g: T1.inverse_time_decay(lr, g, D, f64(0.5)),
        S.InverseTimeDecay(R0, D, 0.5),
    ),
    "inverse_time_staircase": (
        lambda lr, g: T1.inverse_time_decay(lr, g, D, f64(0.5), staircase=True),
        S.InverseTimeDecay(R0, D, 0.5, staircase=True),
    ),
    "polynomial": (
        lambda lr, g: T1.polynomial_decay(lr, g, D, f64(0.001), power=f64(2.0)),
        S.PolynomialDecay(R0, D, 0.001, power=2.0),
    ),
    "polynomial_cycle": (
        lambda lr, g: T1.polynomial_decay(lr, g, D, f64(0.001), power=f64(0.5), cycle=True),
        S.PolynomialDecay(R0, D, 0.001, power=0.5, cycle=True),
    ),
}


@pytest.mark.parametrize("name", sorted(FLOAT64_CASES))
def test_tf1_float64_parity(name):
    tf1, ours = FLOAT64_CASES[name]
    np.testing.assert_allclose(_ours(ours), _tf1(tf1, tf.float64), rtol=1e-7, atol=0)


def test_tf1_piecewise_constant_parity():
    boundaries, values = [15, 40, 120], [0.1, 0.05, 0.01, 0.001]
    ours = _ours(S.PiecewiseConstantDecay(boundaries, values))
    values64 = [tf.constant(v, tf.float64) for v in values]
    # TF1's piecewise_constant takes a scalar step only.
    expected = [
        T1.piecewise_constant(tf.constant(g, tf.int64), boundaries, values64)().numpy() for g in STEPS
    ]
    np.testing.assert_allclose(ours, expected, rtol=1e-7, atol=0)


# TF1's cosine family cannot run in float64 (its pi constant is float32), so it
# is compared in float32: each TF1 value carries float32 rounding errors of a few
# 1e-8 absolute at this R0. The 1e-7 check of these schedules is against the
# float64 references in tests/schedules/test_conformance.py.
FLOAT32_CASES = {
    "cosine": (lambda lr, g: T1.cosine_decay(lr, g, D, alpha=0.05), S.CosineDecay(R0, D, 0.05)),
    "cosine_restarts": (
        lambda lr, g: T1.cosine_decay_restarts(lr, g, D, t_mul=2.0, m_mul=0.7, alpha=0.02),
        S.CosineDecayRestarts(R0, D, 2.0, 0.7, 0.02),
    ),
    "cosine_restarts_t_mul_1": (
        lambda lr, g: T1.cosine_decay_restarts(lr, g, D, t_mul=1.0, m_mul=0.9),
        S.CosineDecayRestarts(R0, D, 1.0, 0.9),
    ),
    "cosine_restarts_t_mul_1.5": (
        lambda lr, g: T1.cosine_decay_restarts(lr, g, 7, t_mul=1.5),
        S.CosineDecayRestarts(R0, 7, 1.5),
    ),
    "linear_cosine": (
        lambda lr, g: T1.linear_cosine_decay(lr, g, D, num_periods=2.0, alpha=0.1, beta=0.01),
        S.LinearCosineDecay(R0, D, 2.0, 0.1, 0.01),
    ),
    "noisy_linear_cosine_deterministic_part": (
        lambda lr, g: T1.noisy_linear_cosine_decay(lr, g, D, initial_variance=0.0, num_periods=1.5),
        S.NoisyLinearCosineDecay(R0, D, initial_variance=0.0, num_periods=1.5, seed=0),
    ),
}


@pytest.mark.parametrize("name", sorted(FLOAT32_CASES))
def test_tf1_float32_parity(name):
    tf1, ours = FLOAT32_CASES[name]
    np.testing.assert_allclose(_ours(ours), _tf1(tf1, tf.float32), rtol=0, atol=1e-6 * R0)


# Keras computes in float32 throughout; a few float32 roundings separate it from
# our float64-then-float32 result.
KERAS_CASES = {
    "ExponentialDecay": (K.ExponentialDecay(R0, D, 0.6, staircase=True), S.ExponentialDecay(R0, D, 0.6, staircase=True)),
    "InverseTimeDecay": (K.InverseTimeDecay(R0, D, 0.5), S.InverseTimeDecay(R0, D, 0.5)),
    "PolynomialDecay": (K.PolynomialDecay(R0, D, 0.001, 2.0, cycle=True), S.PolynomialDecay(R0, D, 0.001, 2.0, cycle=True)),
    "CosineDecay": (K.CosineDecay(R0, D, alpha=0.05), S.CosineDecay(R0, D, alpha=0.05)),
    "CosineDecay_warmup": (
        K.CosineDecay(0.0, D, alpha=0.05, warmup_target=R0, warmup_steps=7),
        S.CosineDecay(0.0, D, alpha=0.05, warmup_target=R0, warmup_steps=7),
    ),
    "Warmup_of_CosineDecay": (
        K.CosineDecay(0.01, D, warmup_target=R0, warmup_steps=7),
        S.Warmup(S.CosineDecay(R0, D), 7, initial_learning_rate=0.01),
    ),
    "CosineDecayRestarts": (K.CosineDecayRestarts(R0, D, 2.0, 0.7, 0.02), S.CosineDecayRestarts(R0, D, 2.0, 0.7, 0.02)),
}


@pytest.mark.parametrize("name", sorted(KERAS_CASES))
def test_keras_namesake_parity(name):
    keras_schedule, ours = KERAS_CASES[name]
    # Keras's CosineDecay with warm-up branches with a cond: scalar steps only.
    expected = [float(keras_schedule(tf.constant(g, tf.int64))) for g in STEPS]
    np.testing.assert_allclose(_ours(ours), expected, rtol=0, atol=1e-6 * R0)


def test_keras_piecewise_constant_parity():
    keras_schedule = K.PiecewiseConstantDecay([15, 40, 120], [0.1, 0.05, 0.01, 0.001])
    ours = S.PiecewiseConstantDecay([15, 40, 120], [0.1, 0.05, 0.01, 0.001])
    expected = [float(keras_schedule(tf.constant(g, tf.int64))) for g in STEPS]
    np.testing.assert_array_equal(_ours(ours), expected)


def test_keras_config_loads_into_ours():
    """A Keras schedule's config builds the kerastools namesake (minus nothing)."""
    for keras_schedule in (
        K.ExponentialDecay(R0, D, 0.6, staircase=True),
        K.InverseTimeDecay(R0, D, 0.5),
        K.PolynomialDecay(R0, D, 0.001, 2.0, cycle=True),
        K.PiecewiseConstantDecay([15, 40], [0.1, 0.05, 0.01]),
        K.CosineDecay(0.0, D, alpha=0.05, warmup_target=R0, warmup_steps=7),
        K.CosineDecayRestarts(R0, D, 2.0, 0.7, 0.02),
    ):
        config = {k: v for k, v in keras_schedule.get_config().items() if k != "name"}
        ours = getattr(S, type(keras_schedule).__name__)(**config)
        got = _ours(ours)[:50]
        expected = [float(keras_schedule(tf.constant(g, tf.int64))) for g in STEPS[:50]]
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-6 * R0)

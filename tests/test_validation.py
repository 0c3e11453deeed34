"""kerastools._validation: the shared argument checks and their messages."""

import re

import keras
import keras_tuner
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import kerastools as kt
from kerastools import _validation as v
from kerastools import callbacks, data, diagnostics, gradcheck, initializers, layers, regularizers, tuning
from kerastools import schedules as S


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
        ({"low": 0}, float("nan"), r"Argument `x` must be finite and >= 0. Received: x=nan"),
        ({"low": 0}, float("inf"), r"Argument `x` must be finite and >= 0. Received: x=inf"),
        ({"high": 0, "high_inclusive": False}, float("-inf"), r"Argument `x` must be finite and < 0. Received: x=-inf"),
        ({"low": 0, "high": 1}, float("inf"), r"Argument `x` must be finite and in \[0, 1\]. Received: x=inf"),
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


# --------------------------------------------------------------------------- #
# Non-finite numbers: refused by every argument that takes a real number
# --------------------------------------------------------------------------- #

_X = np.ones((2, 3), "float32")
_EXP = S.ExponentialDecay(0.1, 10, 0.5)

# (argument name, a call with the value in that argument). Every public argument
# that takes a real number and goes through `check_number`, directly or not.
NUMBER_ARGUMENTS = [
    # optimizers: their own arguments and Keras's base arguments
    *[("learning_rate", lambda v, c=c: c(learning_rate=v)) for c in (kt.SGD, kt.Momentum, kt.Adagrad, kt.RMSprop, kt.Adam, kt.AdamW)],
    ("momentum", lambda v: kt.SGD(momentum=v)),
    ("beta", lambda v: kt.Momentum(beta=v)),
    ("initial_accumulator_value", lambda v: kt.Adagrad(initial_accumulator_value=v)),
    ("epsilon", lambda v: kt.Adagrad(epsilon=v)),
    ("rho", lambda v: kt.RMSprop(rho=v)),
    ("momentum", lambda v: kt.RMSprop(momentum=v)),
    ("epsilon", lambda v: kt.RMSprop(epsilon=v)),
    ("beta_1", lambda v: kt.Adam(beta_1=v)),
    ("beta_2", lambda v: kt.Adam(beta_2=v)),
    ("epsilon", lambda v: kt.Adam(epsilon=v)),
    ("weight_decay", lambda v: kt.AdamW(weight_decay=v)),
    ("weight_decay", lambda v: kt.SGD(weight_decay=v)),
    ("clipnorm", lambda v: kt.SGD(clipnorm=v)),
    ("clipvalue", lambda v: kt.Adam(clipvalue=v)),
    ("global_clipnorm", lambda v: kt.RMSprop(global_clipnorm=v)),
    ("ema_momentum", lambda v: kt.Adam(use_ema=True, ema_momentum=v)),
    ("loss_scale_factor", lambda v: kt.Adagrad(loss_scale_factor=v)),
    # schedules and their callbacks
    ("initial_learning_rate", lambda v: S.ExponentialDecay(v, 10, 0.5)),
    ("decay_steps", lambda v: S.ExponentialDecay(0.1, v, 0.5)),
    ("decay_rate", lambda v: S.ExponentialDecay(0.1, 10, v)),
    ("decay_rate", lambda v: S.NaturalExpDecay(0.1, 10, v)),
    ("decay_rate", lambda v: S.InverseTimeDecay(0.1, 10, v)),
    ("end_learning_rate", lambda v: S.PolynomialDecay(0.1, 10, end_learning_rate=v)),
    ("power", lambda v: S.PolynomialDecay(0.1, 10, power=v)),
    ("alpha", lambda v: S.CosineDecay(0.1, 10, alpha=v)),
    ("warmup_target", lambda v: S.CosineDecay(0.1, 10, warmup_target=v, warmup_steps=5)),
    ("warmup_steps", lambda v: S.CosineDecay(0.1, 10, warmup_target=0.2, warmup_steps=v)),
    ("num_periods", lambda v: S.LinearCosineDecay(0.1, 10, num_periods=v)),
    ("alpha", lambda v: S.LinearCosineDecay(0.1, 10, alpha=v)),
    ("beta", lambda v: S.LinearCosineDecay(0.1, 10, beta=v)),
    ("initial_variance", lambda v: S.NoisyLinearCosineDecay(0.1, 10, initial_variance=v)),
    ("variance_decay", lambda v: S.NoisyLinearCosineDecay(0.1, 10, variance_decay=v)),
    ("first_decay_steps", lambda v: S.CosineDecayRestarts(0.1, v)),
    ("t_mul", lambda v: S.CosineDecayRestarts(0.1, 10, t_mul=v)),
    ("m_mul", lambda v: S.CosineDecayRestarts(0.1, 10, m_mul=v)),
    ("alpha", lambda v: S.CosineDecayRestarts(0.1, 10, alpha=v)),
    ("initial_learning_rate", lambda v: S.CyclicalLearningRate(v, 1.0, 10)),
    ("maximal_learning_rate", lambda v: S.CyclicalLearningRate(0.1, v, 10)),
    ("step_size", lambda v: S.CyclicalLearningRate(0.1, 1.0, v)),
    ("gamma", lambda v: S.CyclicalLearningRate(0.1, 1.0, 10, mode="exp_range", gamma=v)),
    ("initial_learning_rate", lambda v: S.OneCycle(v, 1.0, 100)),
    ("maximal_learning_rate", lambda v: S.OneCycle(0.1, v, 100)),
    ("total_steps", lambda v: S.OneCycle(0.1, 1.0, v)),
    ("pct_start", lambda v: S.OneCycle(0.1, 1.0, 100, pct_start=v)),
    ("end_learning_rate", lambda v: S.OneCycle(0.1, 1.0, 100, end_learning_rate=v)),
    ("boundaries[0]", lambda v: S.PiecewiseConstantDecay([v], [0.1, 0.01])),
    ("values[1]", lambda v: S.PiecewiseConstantDecay([10], [0.1, v])),
    ("warmup_steps", lambda v: S.Warmup(_EXP, v)),
    ("initial_learning_rate", lambda v: S.Warmup(_EXP, 10, initial_learning_rate=v)),
    ("scale", lambda v: S.ScaledSchedule(_EXP, scale=v)),
    ("factor", lambda v: callbacks.ReduceLROnPlateau(factor=v)),
    ("min_delta", lambda v: callbacks.ReduceLROnPlateau(min_delta=v)),
    ("min_lr", lambda v: callbacks.ReduceLROnPlateau(min_lr=v)),
    # regularizers, initializers, layers
    ("l1", lambda v: regularizers.L1L2(l1=v)),
    ("l2", lambda v: regularizers.L1L2(l2=v)),
    ("l2", lambda v: regularizers.L2(v)),
    ("l1", lambda v: regularizers.L1(v)),
    ("scale", lambda v: initializers.VarianceScaling(scale=v)),
    ("stddev", lambda v: initializers.ScaledNormal(stddev=v)),
    ("momentum", lambda v: layers.BatchNormalization(momentum=v)),
    ("epsilon", lambda v: layers.BatchNormalization(epsilon=v)),
    ("rate", lambda v: layers.Dropout(rate=v)),
    ("keep_prob", lambda v: layers.Dropout(keep_prob=v)),
    # gradient checking
    ("epsilon", lambda v: gradcheck.numerical_gradient(np.sum, np.ones(2), epsilon=v)),
    ("epsilon", lambda v: gradcheck.check_gradients(keras.layers.Dense(2), _X, epsilon=v)),
    ("threshold", lambda v: gradcheck.assert_gradients_close(keras.layers.Dense(2), _X, threshold=v)),
    # diagnostics
    ("train_error", lambda v: diagnostics.diagnose_bias_variance(v, 0.1)),
    ("dev_error", lambda v: diagnostics.diagnose_bias_variance(0.1, v)),
    ("baseline_error", lambda v: diagnostics.diagnose_bias_variance(0.1, 0.1, v)),
    ("bias_tolerance", lambda v: diagnostics.BiasVarianceMonitor(bias_tolerance=v)),
    ("variance_tolerance", lambda v: diagnostics.BiasVarianceMonitor(variance_tolerance=v)),
    ("baseline_error", lambda v: diagnostics.BiasVarianceMonitor(baseline_error=v, metric="loss")),
    ("vanishing_threshold", lambda v: diagnostics.GradientNormMonitor(_X, vanishing_threshold=v)),
    ("exploding_threshold", lambda v: diagnostics.GradientNormMonitor(_X, exploding_threshold=v)),
    ("ratio_threshold", lambda v: diagnostics.GradientNormMonitor(_X, ratio_threshold=v)),
    ("saturation_tolerance", lambda v: diagnostics.ActivationMonitor(_X, saturation_tolerance=v)),
    ("max_dead_fraction", lambda v: diagnostics.ActivationMonitor(_X, max_dead_fraction=v)),
    ("histogram_range[1]", lambda v: diagnostics.ActivationMonitor(_X, histogram_range=(0.0, v))),
    # data and tuning
    ("ratios", lambda v: data.train_dev_test_split(np.arange(10), ratios=(0.5, v, 0.25))),
    ("max_value", lambda v: tuning.learning_rate(keras_tuner.HyperParameters(), max_value=v)),
    ("default", lambda v: tuning.learning_rate(keras_tuner.HyperParameters(), default=v)),
]


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf"), np.float32("inf")], ids=["nan", "inf", "-inf", "float32-inf"])
@pytest.mark.parametrize("name, call", NUMBER_ARGUMENTS, ids=[f"{i}-{n}" for i, (n, _) in enumerate(NUMBER_ARGUMENTS)])
def test_every_number_argument_refuses_non_finite_values(name, call, value):
    """inf used to pass every one-sided bound (``learning_rate=inf`` was accepted
    while NaN was refused)."""
    with pytest.raises(ValueError, match=rf"Argument `{re.escape(name)}` must be finite"):
        call(value)


@given(
    value=st.sampled_from([float("nan"), float("inf"), float("-inf")]),
    low=st.none() | st.floats(-1e6, 1e6),
    span=st.none() | st.floats(0, 1e6),
    low_inclusive=st.booleans(),
    high_inclusive=st.booleans(),
)
def test_check_number_refuses_non_finite_whatever_the_bounds(value, low, span, low_inclusive, high_inclusive):
    high = None if span is None else (0.0 if low is None else low) + span
    with pytest.raises(ValueError, match=r"^Argument `x` must be finite( and .+)?\. Received: x=(nan|inf|-inf)$"):
        v.check_number("x", value, low=low, high=high, low_inclusive=low_inclusive, high_inclusive=high_inclusive)

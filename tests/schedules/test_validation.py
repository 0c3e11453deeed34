"""Bad arguments raise ValueError / TypeError naming the argument and the value."""

import re

import keras
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from kerastools import callbacks
from kerastools import schedules as S

EXP = S.ExponentialDecay(0.1, 10, 0.5)

BAD = [
    # decay_steps <= 0, in every schedule that has one
    (lambda: S.ExponentialDecay(0.1, 0, 0.5), ValueError, r"Argument `decay_steps` must be > 0. Received: decay_steps=0.0"),
    (lambda: S.NaturalExpDecay(0.1, -5, 0.5), ValueError, r"Argument `decay_steps` must be > 0. Received: decay_steps=-5.0"),
    (lambda: S.InverseTimeDecay(0.1, 0, 0.5), ValueError, r"`decay_steps` must be > 0"),
    (lambda: S.PolynomialDecay(0.1, 0), ValueError, r"`decay_steps` must be > 0"),
    (lambda: S.CosineDecay(0.1, -1), ValueError, r"`decay_steps` must be > 0"),
    (lambda: S.LinearCosineDecay(0.1, 0), ValueError, r"`decay_steps` must be > 0"),
    (lambda: S.NoisyLinearCosineDecay(0.1, 0), ValueError, r"`decay_steps` must be > 0"),
    (lambda: S.CosineDecayRestarts(0.1, 0), ValueError, r"Argument `first_decay_steps` must be > 0. Received: first_decay_steps=0.0"),
    (lambda: S.ExponentialDecay(0.1, float("inf"), 0.5), ValueError, r"Argument `decay_steps` must be finite and > 0. Received: decay_steps=inf"),
    (lambda: S.ExponentialDecay(0.1, "10", 0.5), TypeError, r"Argument `decay_steps` must be a real number. Received: decay_steps='10' of type str"),
    # negative rates
    (lambda: S.ExponentialDecay(-0.1, 10, 0.5), ValueError, r"Argument `initial_learning_rate` must be >= 0. Received: initial_learning_rate=-0.1"),
    (lambda: S.ExponentialDecay(float("nan"), 10, 0.5), ValueError, r"`initial_learning_rate` must be finite and >= 0. Received: initial_learning_rate=nan"),
    (lambda: S.ExponentialDecay(0.1, 10, 0.0), ValueError, r"Argument `decay_rate` must be > 0. Received: decay_rate=0.0"),
    (lambda: S.NaturalExpDecay(0.1, 10, -0.5), ValueError, r"Argument `decay_rate` must be >= 0. Received: decay_rate=-0.5"),
    (lambda: S.InverseTimeDecay(0.1, 10, -1), ValueError, r"Argument `decay_rate` must be >= 0. Received: decay_rate=-1.0"),
    (lambda: S.PolynomialDecay(0.1, 10, end_learning_rate=-1e-3), ValueError, r"Argument `end_learning_rate` must be >= 0. Received: end_learning_rate=-0.001"),
    (lambda: S.PiecewiseConstantDecay([10], [0.1, -0.01]), ValueError, r"Argument `values\[1\]` must be >= 0. Received: values\[1\]=-0.01"),
    (lambda: S.CyclicalLearningRate(0.1, -1.0, 10), ValueError, r"Argument `maximal_learning_rate` must be >= 0. Received: maximal_learning_rate=-1.0"),
    (lambda: S.OneCycle(0.1, 1.0, 100, end_learning_rate=-1.0), ValueError, r"Argument `end_learning_rate` must be >= 0"),
    (lambda: S.Warmup(EXP, 10, initial_learning_rate=-0.1), ValueError, r"Argument `initial_learning_rate` must be >= 0"),
    (lambda: S.CosineDecay(0.1, 10, warmup_target=-0.1, warmup_steps=5), ValueError, r"Argument `warmup_target` must be >= 0"),
    (lambda: S.ScaledSchedule(EXP, scale=-1.0), ValueError, r"Argument `scale` must be >= 0. Received: scale=-1.0"),
    # power <= 0 and other shape parameters
    (lambda: S.PolynomialDecay(0.1, 10, power=0.0), ValueError, r"Argument `power` must be > 0. Received: power=0.0"),
    (lambda: S.PolynomialDecay(0.1, 10, power=-2), ValueError, r"Argument `power` must be > 0. Received: power=-2.0"),
    (lambda: S.CosineDecay(0.1, 10, alpha=1.5), ValueError, r"Argument `alpha` must be in \[0, 1\]. Received: alpha=1.5"),
    (lambda: S.CosineDecayRestarts(0.1, 10, t_mul=0.5), ValueError, r"Argument `t_mul` must be >= 1. Received: t_mul=0.5"),
    (lambda: S.CosineDecayRestarts(0.1, 10, m_mul=-0.5), ValueError, r"Argument `m_mul` must be >= 0. Received: m_mul=-0.5"),
    (lambda: S.LinearCosineDecay(0.1, 10, num_periods=-1), ValueError, r"Argument `num_periods` must be >= 0. Received: num_periods=-1.0"),
    (lambda: S.LinearCosineDecay(0.1, 10, beta=-0.1), ValueError, r"Argument `beta` must be >= 0. Received: beta=-0.1"),
    (lambda: S.NoisyLinearCosineDecay(0.1, 10, initial_variance=-1), ValueError, r"Argument `initial_variance` must be >= 0"),
    (lambda: S.NoisyLinearCosineDecay(0.1, 10, seed=-3), ValueError, r"Argument `seed` must be an integer in \[0, 1.84467e\+19\]. Received: seed=-3"),
    (lambda: S.CyclicalLearningRate(0.1, 1.0, 0), ValueError, r"Argument `step_size` must be > 0. Received: step_size=0.0"),
    (lambda: S.CyclicalLearningRate(0.1, 1.0, 10, gamma=1.5), ValueError, r"Argument `gamma` must be in \(0, 1\]. Received: gamma=1.5"),
    (lambda: S.OneCycle(0.1, 1.0, 100, pct_start=0.6), ValueError, r"Argument `pct_start` must be in \(0, 0.5\]. Received: pct_start=0.6"),
    (lambda: S.OneCycle(0.1, 1.0, 100, pct_start=1.0, three_phase=False), ValueError, r"Argument `pct_start` must be in \(0, 1\). Received: pct_start=1.0"),
    (lambda: S.OneCycle(0.1, 1.0, 0), ValueError, r"Argument `total_steps` must be > 0. Received: total_steps=0.0"),
    (lambda: S.Warmup(EXP, 0), ValueError, r"Argument `warmup_steps` must be > 0. Received: warmup_steps=0.0"),
    (lambda: S.CosineDecay(0.1, 10, warmup_target=0.2, warmup_steps=-5), ValueError, r"Argument `warmup_steps` must be > 0"),
    # unknown mode strings, wrong flags
    (lambda: S.CyclicalLearningRate(0.1, 1.0, 10, mode="triangle"), ValueError, r"Argument `mode` must be one of 'triangular', 'triangular2', 'exp_range'. Received: mode='triangle'"),
    (lambda: S.OneCycle(0.1, 1.0, 100, anneal_strategy="cosine"), ValueError, r"Argument `anneal_strategy` must be one of 'linear', 'cos'. Received: anneal_strategy='cosine'"),
    (lambda: S.ExponentialDecay(0.1, 10, 0.5, staircase=1), TypeError, r"Argument `staircase` must be a bool. Received: staircase=1 of type int"),
    (lambda: S.PolynomialDecay(0.1, 10, cycle="yes"), TypeError, r"Argument `cycle` must be a bool"),
    (lambda: S.ExponentialDecay(0.1, 10, 0.5, steps_per_epoch=0), ValueError, r"Argument `steps_per_epoch` must be an integer >= 1. Received: steps_per_epoch=0"),
    (lambda: S.ExponentialDecay(0.1, 10, 0.5, steps_per_epoch=2.5), TypeError, r"Argument `steps_per_epoch` must be an integer. Received: steps_per_epoch=2.5"),
    (lambda: S.ExponentialDecay(0.1, 10, 0.5, name=3), TypeError, r"Argument `name` must be a string or None. Received: name=3"),
    # boundaries
    (lambda: S.PiecewiseConstantDecay([20, 10], [0.1, 0.01, 0.001]), ValueError, r"Argument `boundaries` must be strictly increasing. Received: boundaries=\[20, 10\]"),
    (lambda: S.PiecewiseConstantDecay([10, 10], [0.1, 0.01, 0.001]), ValueError, r"strictly increasing"),
    (lambda: S.PiecewiseConstantDecay([10, 20], [0.1, 0.01]), ValueError, r"Argument `boundaries` must have one element fewer than `values`. Received: boundaries of length 2 and values of length 2"),
    (lambda: S.PiecewiseConstantDecay([], [0.1]), ValueError, r"Argument `boundaries` must have at least one element. Received: boundaries=\[\]"),
    (lambda: S.PiecewiseConstantDecay(10, [0.1, 0.01]), TypeError, r"Argument `boundaries` must be a list of numbers. Received: boundaries=10"),
    (lambda: S.PiecewiseConstantDecay([10], 0.1), TypeError, r"Argument `values` must be a list of numbers. Received: values=0.1"),
    (lambda: S.PiecewiseConstantDecay([float("nan")], [0.1, 0.01]), ValueError, r"Argument `boundaries\[0\]` must be finite. Received: boundaries\[0\]=nan"),
    (lambda: S.Sequential([EXP, EXP], [20, 10][:0]), ValueError, r"Argument `boundaries` must have one element fewer than `schedules`. Received: boundaries of length 0 and schedules of length 2"),
    (lambda: S.Sequential([EXP, EXP, EXP], [20, 10]), ValueError, r"Argument `boundaries` must be strictly increasing"),
    (lambda: S.Sequential([EXP, EXP], [0]), ValueError, r"Argument `boundaries` must be > 0. Received: boundaries=\[0\]"),
    (lambda: S.Sequential([], []), ValueError, r"Argument `schedules` must not be empty. Received: schedules=\[\]"),
    (lambda: S.Sequential(EXP, []), TypeError, r"Argument `schedules` must be a list of schedules"),
    # wrapped objects that are not schedules
    (lambda: S.Warmup(0.1, 10), TypeError, r"Argument `schedule` must be a `keras.optimizers.schedules.LearningRateSchedule`. Received: schedule=0.1 of type float"),
    (lambda: S.Sequential([EXP, lambda step: 0.1], [10]), TypeError, r"Argument `schedules\[1\]` must be a `keras.optimizers.schedules.LearningRateSchedule`"),
    (lambda: S.ScaledSchedule("exp"), TypeError, r"Argument `schedule` must be a `keras.optimizers.schedules.LearningRateSchedule`. Received: schedule='exp' of type str"),
    # callbacks
    (lambda: callbacks.ReduceLROnPlateau(factor=1.0), ValueError, r"Argument `factor` must be in \(0, 1\). Received: factor=1.0"),
    (lambda: callbacks.ReduceLROnPlateau(patience=-1), ValueError, r"Argument `patience` must be an integer >= 0. Received: patience=-1"),
    (lambda: callbacks.ReduceLROnPlateau(mode="minimum"), ValueError, r"Argument `mode` must be one of 'auto', 'min', 'max'. Received: mode='minimum'"),
    (lambda: callbacks.ReduceLROnPlateau(min_lr=-1), ValueError, r"Argument `min_lr` must be >= 0. Received: min_lr=-1.0"),
    (lambda: callbacks.ReduceLROnPlateau(monitor=3), TypeError, r"Argument `monitor` must be a string. Received: monitor=3"),
    (lambda: callbacks.ReduceLROnPlateau(schedule=EXP), TypeError, r"Argument `schedule` must be a `kerastools.schedules.ScaledSchedule`. Received: schedule=ExponentialDecay\("),
    (lambda: callbacks.LearningRateLogger(log_dir=3), TypeError, r"Argument `log_dir` must be a path or None. Received: log_dir=3"),
]


@pytest.mark.parametrize("build, error, message", BAD, ids=[f"bad{i}" for i in range(len(BAD))])
def test_bad_argument(build, error, message):
    with pytest.raises(error, match=message):
        build()


def test_scale_setter_validates():
    schedule = S.ScaledSchedule(EXP)
    with pytest.raises(ValueError, match=r"Argument `scale` must be >= 0. Received: scale=-0.5"):
        schedule.scale = -0.5
    assert schedule.scale == 1.0


def test_keras_schedules_are_accepted_where_schedules_are_wrapped():
    keras_schedule = keras.optimizers.schedules.ExponentialDecay(0.1, 10, 0.5)
    S.Warmup(keras_schedule, 5)
    S.Sequential([keras_schedule, EXP], [5])
    S.ScaledSchedule(keras_schedule)


@given(
    initial=st.floats(0.0, 10.0, allow_subnormal=False),
    maximal=st.floats(0.0, 10.0, allow_subnormal=False),
    three_phase=st.booleans(),
)
def test_one_cycle_refuses_a_maximal_rate_below_the_initial_rate(initial, maximal, three_phase):
    """The cycle rises from `initial_learning_rate` to `maximal_learning_rate`;
    the other way round (swapped rates, PyTorch's div_factor < 1) is refused, and
    every accepted cycle stays between its rates while rising (pct_start=0.45:
    the first 45 steps of 100)."""
    if maximal < initial:
        with pytest.raises(
            ValueError,
            match=(
                r"Argument `maximal_learning_rate` must be >= `initial_learning_rate` \(the cycle "
                rf"rises from the initial rate to the maximal one\)\. Received: maximal_learning_rate={re.escape(repr(maximal))}, "
                rf"initial_learning_rate={re.escape(repr(initial))}$"
            ),
        ):
            S.OneCycle(initial, maximal, 100, three_phase=three_phase)
        return
    schedule = S.OneCycle(initial, maximal, 100, three_phase=three_phase)
    rates = np.asarray(schedule(np.arange(0, 46, dtype="float64")), "float64")
    # float32 result of a float64 computation: one float32 rounding.
    assert np.all(rates >= np.float32(initial) * (1 - 1e-6)) and np.all(rates <= np.float32(maximal) * (1 + 1e-6))

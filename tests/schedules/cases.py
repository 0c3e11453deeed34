"""One registry of schedule cases that drives the conformance tests.

Each case builds a schedule and gives its float64 reference from
tests/schedules/reference.py, a function of the step ``g``.
"""

import math

import keras

from kerastools import schedules as S
from tests.schedules import reference as ref


class Case:
    def __init__(self, id, build, reference, horizon, rtol=1e-7):
        self.id = id
        # Our schedules round once, to float32 (<= 6e-8 relative); a wrapped Keras
        # schedule computes in float32 throughout, a few roundings.
        self.rtol = rtol
        self.build = build  # () -> schedule
        self.reference = reference  # float step -> float64 rate
        self.horizon = horizon  # steps 0 ... horizon are checked densely

    def __repr__(self):
        return self.id


def _epochs(fn, steps_per_epoch):
    return lambda g: fn(math.floor(g / steps_per_epoch))


CASES = [
    Case(
        "inverse_time",
        lambda: S.InverseTimeDecay(0.1, 7, 0.5),
        lambda g: ref.inverse_time_decay(0.1, 7, 0.5, g),
        70,
    ),
    Case(
        "inverse_time_staircase",
        lambda: S.InverseTimeDecay(0.1, 7, 0.5, staircase=True),
        lambda g: ref.inverse_time_decay(0.1, 7, 0.5, g, staircase=True),
        70,
    ),
    Case(
        "inverse_time_course_epochs",
        lambda: S.InverseTimeDecay(0.2, 1, 1.0, steps_per_epoch=13),
        _epochs(lambda e: ref.course_fractional_decay(0.2, 1.0, e), 13),
        130,
    ),
    Case(
        "piecewise",
        lambda: S.PiecewiseConstantDecay([10, 25, 40], [0.1, 0.05, 0.01, 0.001]),
        lambda g: ref.piecewise_constant([10, 25, 40], [0.1, 0.05, 0.01, 0.001], g),
        60,
    ),
    Case(
        "piecewise_epochs",
        lambda: S.PiecewiseConstantDecay([2, 4], [0.1, 0.01, 0.001], steps_per_epoch=5),
        _epochs(lambda e: ref.piecewise_constant([2, 4], [0.1, 0.01, 0.001], e), 5),
        40,
    ),
    Case(
        "exponential",
        lambda: S.ExponentialDecay(0.1, 9, 0.7),
        lambda g: ref.exponential_decay(0.1, 9, 0.7, g),
        90,
    ),
    Case(
        "exponential_staircase_epochs",
        lambda: S.ExponentialDecay(0.1, 2, 0.5, staircase=True, steps_per_epoch=3),
        _epochs(lambda e: ref.exponential_decay(0.1, 2, 0.5, e, staircase=True), 3),
        60,
    ),
    Case(
        "natural_exp",
        lambda: S.NaturalExpDecay(0.1, 9, 0.3),
        lambda g: ref.natural_exp_decay(0.1, 9, 0.3, g),
        90,
    ),
    Case(
        "natural_exp_staircase",
        lambda: S.NaturalExpDecay(0.1, 9, 0.3, staircase=True),
        lambda g: ref.natural_exp_decay(0.1, 9, 0.3, g, staircase=True),
        90,
    ),
    Case(
        "polynomial",
        lambda: S.PolynomialDecay(0.1, 11, 0.001, power=2.0),
        lambda g: ref.polynomial_decay(0.1, 11, 0.001, 2.0, g),
        110,
    ),
    Case(
        "polynomial_cycle",
        lambda: S.PolynomialDecay(0.1, 11, 0.001, power=0.5, cycle=True),
        lambda g: ref.polynomial_decay(0.1, 11, 0.001, 0.5, g, cycle=True),
        110,
    ),
    Case(
        "cosine",
        lambda: S.CosineDecay(0.1, 13, alpha=0.05),
        lambda g: ref.cosine_decay(0.1, 13, 0.05, g),
        130,
    ),
    Case(
        "cosine_warmup",
        lambda: S.CosineDecay(0.01, 13, warmup_target=0.1, warmup_steps=5),
        lambda g: ref.warmup(lambda h: ref.cosine_decay(0.1, 13, 0.0, h), 5, 0.01, g),
        130,
    ),
    Case(
        "linear_cosine",
        lambda: S.LinearCosineDecay(0.1, 13, num_periods=2.0, alpha=0.1, beta=0.01),
        lambda g: ref.linear_cosine_decay(0.1, 13, 2.0, 0.1, 0.01, g),
        130,
    ),
    Case(
        "noisy_linear_cosine_without_noise",
        lambda: S.NoisyLinearCosineDecay(0.1, 13, initial_variance=0.0, seed=3),
        lambda g: ref.linear_cosine_decay(0.1, 13, 0.5, 0.0, 0.001, g),
        130,
    ),
    Case(
        "sgdr",
        lambda: S.CosineDecayRestarts(0.1, 10, t_mul=2.0, m_mul=0.8, alpha=0.01),
        lambda g: ref.sgdr(0.1, 10, 2.0, 0.8, 0.01, g),
        100,
    ),
    Case(
        "sgdr_t_mul_1",
        lambda: S.CosineDecayRestarts(0.1, 10, t_mul=1.0, m_mul=0.9),
        lambda g: ref.sgdr(0.1, 10, 1.0, 0.9, 0.0, g),
        100,
    ),
    Case(
        "sgdr_t_mul_1.5",
        lambda: S.CosineDecayRestarts(0.1, 7, t_mul=1.5, m_mul=1.0),
        lambda g: ref.sgdr(0.1, 7, 1.5, 1.0, 0.0, g),
        100,
    ),
    Case(
        "triangular",
        lambda: S.CyclicalLearningRate(0.001, 0.006, 8),
        lambda g: ref.cyclical(0.001, 0.006, 8, "triangular", 1.0, g),
        80,
    ),
    Case(
        "triangular2",
        lambda: S.CyclicalLearningRate(0.001, 0.006, 8, mode="triangular2"),
        lambda g: ref.cyclical(0.001, 0.006, 8, "triangular2", 1.0, g),
        80,
    ),
    Case(
        "exp_range",
        lambda: S.CyclicalLearningRate(0.001, 0.006, 8, mode="exp_range", gamma=0.99),
        lambda g: ref.cyclical(0.001, 0.006, 8, "exp_range", 0.99, g),
        80,
    ),
    Case(
        "one_cycle",
        lambda: S.OneCycle(0.08, 0.8, 50, pct_start=0.4, end_learning_rate=0.0008),
        lambda g: ref.one_cycle(0.08, 0.8, 50, 0.4, 0.0008, g),
        60,
    ),
    Case(
        "one_cycle_two_phase_cos",
        lambda: S.OneCycle(0.004, 0.1, 50, pct_start=0.3, three_phase=False, anneal_strategy="cos"),
        lambda g: ref.one_cycle(0.004, 0.1, 50, 0.3, 0.004 / 1e4, g, three_phase=False, anneal="cos"),
        60,
    ),
    Case(
        "warmup",
        lambda: S.Warmup(S.ExponentialDecay(0.1, 9, 0.7), 6, initial_learning_rate=0.01),
        lambda g: ref.warmup(lambda h: ref.exponential_decay(0.1, 9, 0.7, h), 6, 0.01, g),
        60,
    ),
    Case(
        "warmup_unshifted_keras_inner",
        lambda: S.Warmup(keras.optimizers.schedules.InverseTimeDecay(0.1, 9, 0.5), 6, shift=False),
        lambda g: ref.warmup(lambda h: ref.inverse_time_decay(0.1, 9, 0.5, h), 6, 0.0, g, shift=False),
        60,
        rtol=1e-6,
    ),
    Case(
        "sequential",
        lambda: S.Sequential(
            [S.PolynomialDecay(0.0, 5, 0.1), S.CosineDecayRestarts(0.1, 10), S.PiecewiseConstantDecay([5], [0.01, 0.001])],
            boundaries=[5, 35],
        ),
        lambda g: ref.sequential(
            [
                lambda h: ref.polynomial_decay(0.0, 5, 0.1, 1.0, h),
                lambda h: ref.sgdr(0.1, 10, 2.0, 1.0, 0.0, h),
                lambda h: ref.piecewise_constant([5], [0.01, 0.001], h),
            ],
            [5, 35],
            g,
        ),
        60,
    ),
    Case(
        "scaled",
        lambda: S.ScaledSchedule(S.NaturalExpDecay(0.1, 9, 0.3), scale=0.25),
        lambda g: 0.25 * ref.natural_exp_decay(0.1, 9, 0.3, g),
        60,
    ),
]

CASE_IDS = [case.id for case in CASES]

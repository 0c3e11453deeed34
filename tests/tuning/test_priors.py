"""Priors on the course's scales: exact sampling maps, KerasTuner's reverse_log, errors."""

import keras_tuner
import numpy as np
import pytest
from scipy import stats

from kerastools import tuning
from tests.tuning import reference

U = np.linspace(0.0, 1.0, 101)


def _registered(hp, name):
    (found,) = [p for p in hp.space if p.name == name]
    return found


def test_learning_rate_is_the_courses_log_scale():
    hp = keras_tuner.HyperParameters()
    value = tuning.learning_rate(hp)
    assert value == pytest.approx(1e-2)  # the default: the geometric middle of [1e-4, 1]
    param = _registered(hp, "learning_rate")
    assert (param.min_value, param.max_value, param.sampling) == (1e-4, 1.0, "log")
    got = np.array([param.prob_to_value(u) for u in U])
    np.testing.assert_allclose(got, reference.course_log_sample(U, 1e-4, 1.0), rtol=1e-13)


def test_epsilon_and_log_uniform_ranges():
    hp = keras_tuner.HyperParameters()
    assert tuning.epsilon(hp) == pytest.approx(1e-6)
    assert tuning.log_uniform(hp, "l2", 1e-5, 1e-1, default=1e-3) == 1e-3
    param = _registered(hp, "l2")
    got = np.array([param.prob_to_value(u) for u in U])
    np.testing.assert_allclose(got, reference.course_log_sample(U, 1e-5, 1e-1), rtol=1e-13)


def test_beta_is_one_minus_ten_to_r():
    hp = keras_tuner.HyperParameters()
    value = tuning.beta(hp, "momentum/beta", 0.9, 0.999)
    assert value == pytest.approx(0.99)  # 1 - 10**-2, the middle of r in [-3, -1]
    param = _registered(hp, "momentum/1-beta")
    assert param.sampling == "log"
    got = np.array([1.0 - param.prob_to_value(u) for u in U])
    np.testing.assert_allclose(got, reference.course_beta_sample(U, 0.9, 0.999), rtol=0, atol=1e-15)
    # The ends of the range come back exactly.
    assert 1.0 - param.prob_to_value(0.0) == 0.999
    assert 1.0 - param.prob_to_value(1.0) == 0.9


def test_beta_samples_are_uniform_in_r():
    hp = keras_tuner.HyperParameters()
    tuning.beta(hp, "beta", 0.9, 0.999)
    param = _registered(hp, "1-beta")
    r = np.log10([param.random_sample(seed) for seed in range(10000)])  # as KerasTuner draws: one seed per draw
    assert stats.kstest(r, stats.uniform(loc=-3, scale=2).cdf).pvalue > 0.01
    # Half the samples in [0.9, 0.99], half in [0.99, 0.999].
    assert 0.45 < np.mean(r > -2) < 0.55


def test_reverse_log_is_not_the_courses_scale():
    """KerasTuner's reverse_log mirrors the log scale inside the range, which on
    [0.9, 0.999] is almost uniform; it equals 1 - 10**r only when min + max == 1."""
    rev = keras_tuner.engine.hyperparameters.Float("b", 0.9, 0.999, sampling="reverse_log")
    median = rev.prob_to_value(0.5)
    assert median == pytest.approx(0.999 + 0.9 - np.sqrt(0.9 * 0.999))  # about 0.951
    assert median < 0.96 < reference.course_beta_sample(0.5, 0.9, 0.999)  # the course's median is 0.99
    symmetric = keras_tuner.engine.hyperparameters.Float("b", 0.001, 0.999, sampling="reverse_log")
    got = np.array([symmetric.prob_to_value(u) for u in U])
    # The same distribution, run through in the opposite direction of u.
    np.testing.assert_allclose(got, reference.course_beta_sample(1.0 - U, 0.001, 0.999), rtol=1e-12)


def test_inactive_scope_returns_none():
    hp = keras_tuner.HyperParameters()
    hp.Choice("optimizer", ["adam", "momentum"])
    with hp.conditional_scope("optimizer", ["momentum"]):
        assert tuning.beta(hp, "momentum/beta") is None
        assert tuning.learning_rate(hp, "momentum/learning_rate") is None


def test_hyperparameter_values_turns_complements_back():
    hp = keras_tuner.HyperParameters()
    tuning.beta(hp, "adam/beta_1", 0.8, 0.99, default=0.9)
    tuning.learning_rate(hp, default=0.05)
    hp.Int("units", 4, 8)
    values = tuning.hyperparameter_values(hp)
    assert values == {"adam/beta_1": pytest.approx(0.9, abs=1e-15), "learning_rate": 0.05, "units": 4}
    assert tuning.hyperparameter_values({"1-beta": 0.25, "n": 3}) == {"beta": 0.75, "n": 3}


@pytest.mark.parametrize(
    "call, error, match",
    [
        (lambda hp: tuning.learning_rate(hp, min_value=0.1, max_value=0.1), ValueError, r"non-empty range, min_value < max_value. Received: min_value=0.1, max_value=0.1"),
        (lambda hp: tuning.learning_rate(hp, min_value=1.0, max_value=1e-3), ValueError, r"min_value < max_value. Received: min_value=1.0, max_value=0.001"),
        (lambda hp: tuning.learning_rate(hp, min_value=0.0), ValueError, r"`min_value` must be > 0 on a log scale. Received: min_value=0.0"),
        (lambda hp: tuning.log_uniform(hp, "l2", -1.0, 1.0), ValueError, r"`min_value` must be > 0 on a log scale. Received: min_value=-1.0"),
        (lambda hp: tuning.beta(hp, max_value=1.0), ValueError, r"`max_value` must be < 1 for a parameter drawn as 1 - 10\*\*r .* Received: max_value=1.0"),
        (lambda hp: tuning.beta(hp, min_value=-0.5), ValueError, r"`min_value` must be >= 0 for a parameter drawn as 1 - 10\*\*r. Received: min_value=-0.5"),
        (lambda hp: tuning.beta(hp, min_value=0.99, max_value=0.9), ValueError, r"min_value < max_value. Received: min_value=0.99, max_value=0.9"),
        (lambda hp: tuning.beta(hp, default=0.5), ValueError, r"`default` must lie in \[min_value, max_value\] = \[0.9, 0.999\]. Received: default=0.5"),
        (lambda hp: tuning.learning_rate(hp, max_value="big"), TypeError, r"`max_value` must be a real number. Received: max_value='big'"),
        (lambda hp: tuning.epsilon(hp, max_value=float("inf")), ValueError, r"`max_value` must be finite. Received: max_value=inf"),
        (lambda hp: tuning.learning_rate(hp, name=""), TypeError, r"`name` must be a non-empty string. Received: name=''"),
        (lambda hp: tuning.learning_rate({}), TypeError, r"`hp` must be a keras_tuner.HyperParameters .* Received: hp=\{\}"),
        (lambda hp: tuning.hyperparameter_values([1]), TypeError, r"`hp` must be a keras_tuner.HyperParameters or a dict. Received: hp=\[1\]"),
    ],
)
def test_bad_input(call, error, match):
    with pytest.raises(error, match=match):
        call(keras_tuner.HyperParameters())

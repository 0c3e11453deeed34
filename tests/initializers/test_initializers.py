"""kerastools.initializers: variances, fans, plain vs truncated, Keras parity, serialisation."""

import keras
import numpy as np
import pytest

from kerastools import initializers as ki
from tests.initializers import reference
from tests.conformance import assert_config_round_trip, assert_model_round_trip

# (class, expected variance as a function of (fan_in, fan_out), uniform?)
CASES = [
    (ki.HeNormal, lambda i, o: 2.0 / i, False),
    (ki.HeUniform, lambda i, o: 2.0 / i, True),
    (ki.XavierNormal, lambda i, o: 1.0 / i, False),
    (ki.XavierUniform, lambda i, o: 1.0 / i, True),
    (ki.GlorotNormal, lambda i, o: 2.0 / (i + o), False),
    (ki.GlorotUniform, lambda i, o: 2.0 / (i + o), True),
    (ki.LeCunNormal, lambda i, o: 1.0 / i, False),
]
SHAPES = [(400, 300), (5, 5, 16, 24)]


@pytest.mark.parametrize("shape", [(7, 3), (3, 3, 16, 32), (5, 4, 2, 6), (2, 3, 3, 4, 5)])
def test_fans_count_the_receptive_field(shape):
    assert ki.compute_fans(shape) == reference.fans(shape)


def test_fans_of_vectors_and_scalars():
    assert ki.compute_fans((9,)) == (9, 9)
    assert ki.compute_fans(()) == (1, 1)


@pytest.mark.parametrize("cls, variance, uniform", CASES, ids=[c[0].__name__ for c in CASES])
@pytest.mark.parametrize("shape", SHAPES, ids=["dense", "conv"])
def test_variance_and_distribution(cls, variance, uniform, shape):
    fan_in, fan_out = reference.fans(shape)
    target = variance(fan_in, fan_out)
    w = np.asarray(cls(seed=1)(shape, dtype="float64"))
    # 120,000+ draws: the sample variance's relative standard error is
    # sqrt(2/N) < 0.5 % for a normal, less for a uniform; 3 % is > 6 sigma.
    assert w.var() == pytest.approx(target, rel=0.03)
    assert abs(w.mean()) < 6 * np.sqrt(target / w.size)
    if uniform:
        limit = np.sqrt(3 * target)
        assert w.max() <= limit and w.min() >= -limit
        assert w.max() > 0.99 * limit
    else:
        # A plain normal puts 4.55 % of its mass beyond two standard deviations.
        beyond = np.mean(np.abs(w) > 2 * np.sqrt(target))
        assert beyond == pytest.approx(0.0455, abs=0.006)


@pytest.mark.parametrize("cls", [ki.HeNormal, ki.XavierNormal, ki.GlorotNormal, ki.LeCunNormal])
def test_truncated_keeps_the_variance_and_cuts_the_tails(cls):
    shape = (400, 300)
    plain = np.asarray(cls(seed=1)(shape, dtype="float64"))
    cut = np.asarray(cls(seed=1, truncated=True)(shape, dtype="float64"))
    assert cut.var() == pytest.approx(plain.var(), rel=0.03)
    # Keras truncates at two standard deviations of the underlying normal,
    # which is 2 * 0.8796 = 1.76 target standard deviations.
    assert np.max(np.abs(cut)) <= 2 * np.sqrt(plain.var()) / 0.87962566 * 1.01


@pytest.mark.parametrize(
    "ours, theirs",
    [
        (ki.HeNormal(seed=7, truncated=True), keras.initializers.HeNormal(seed=7)),
        (ki.HeUniform(seed=7), keras.initializers.HeUniform(seed=7)),
        (ki.GlorotNormal(seed=7, truncated=True), keras.initializers.GlorotNormal(seed=7)),
        (ki.GlorotUniform(seed=7), keras.initializers.GlorotUniform(seed=7)),
        (ki.LeCunNormal(seed=7, truncated=True), keras.initializers.LecunNormal(seed=7)),
        (ki.XavierUniform(seed=7), keras.initializers.LecunUniform(seed=7)),
        (
            ki.VarianceScaling(2.0, "fan_out", "normal", seed=7),
            keras.initializers.VarianceScaling(2.0, "fan_out", "untruncated_normal", seed=7),
        ),
    ],
    ids=lambda obj: type(obj).__name__,
)
def test_keras_parity_with_the_same_seed(ours, theirs):
    for shape in [(20, 30), (3, 3, 4, 8)]:
        np.testing.assert_allclose(ours(shape), theirs(shape), rtol=1e-6)


def test_scaled_normal_is_the_course_small_gaussian():
    w = np.asarray(ki.ScaledNormal(seed=3)((500, 400), dtype="float64"))
    assert w.std() == pytest.approx(0.01, rel=0.01)
    assert ki.ScaledNormal(stddev=1.0, seed=3)((2, 2)).shape == (2, 2)


def test_a_seed_repeats_and_none_draws_afresh():
    np.testing.assert_array_equal(ki.HeNormal(seed=5)((4, 4)), ki.HeNormal(seed=5)((4, 4)))
    init = ki.HeNormal()
    assert not np.array_equal(init((4, 4)), init((4, 4)))


def test_variance_scaling_modes():
    shape = (3, 3, 8, 16)
    fan_in, fan_out = 72, 144
    for mode, n in [("fan_in", fan_in), ("fan_out", fan_out), ("fan_avg", (fan_in + fan_out) / 2)]:
        assert ki.VarianceScaling(2.0, mode).stddev(shape) == pytest.approx(np.sqrt(2.0 / n))


ALL = [
    ki.VarianceScaling(2.0, "fan_avg", "truncated_normal", seed=3),
    ki.HeNormal(seed=1, truncated=True),
    ki.HeUniform(seed=1),
    ki.XavierNormal(seed=1),
    ki.XavierUniform(),
    ki.GlorotNormal(),
    ki.GlorotUniform(seed=2),
    ki.LeCunNormal(seed=4),
    ki.ScaledNormal(0.05, seed=9),
]


@pytest.mark.parametrize("init", ALL, ids=lambda obj: type(obj).__name__)
def test_config_round_trip(init):
    clone = assert_config_round_trip(init)
    if init.seed is not None:
        np.testing.assert_array_equal(clone((3, 5)), init((3, 5)))


def test_model_round_trip(tmp_path):
    model = keras.Sequential(
        [keras.Input((4,))] + [keras.layers.Dense(3, kernel_initializer=init) for init in ALL]
    )
    assert_model_round_trip(model, np.ones((2, 4), "float32"), tmp_path)


@pytest.mark.parametrize(
    "make, error, message",
    [
        (lambda: ki.VarianceScaling(scale=0), ValueError, r"Argument `scale` must be > 0. Received: scale=0.0"),
        (lambda: ki.VarianceScaling(mode="fan_mid"), ValueError, r"Argument `mode` must be one of 'fan_in', 'fan_out', 'fan_avg'. Received: mode='fan_mid'"),
        (lambda: ki.VarianceScaling(distribution="cauchy"), ValueError, r"Argument `distribution` must be one of .*Received: distribution='cauchy'"),
        (lambda: ki.HeNormal(seed=-1), ValueError, r"Argument `seed` must be an integer >= 0. Received: seed=-1"),
        (lambda: ki.HeNormal(seed=1.5), TypeError, r"Argument `seed` must be an integer. Received: seed=1.5"),
        (lambda: ki.HeNormal(truncated="yes"), TypeError, r"Argument `truncated` must be a bool. Received: truncated='yes'"),
        (lambda: ki.ScaledNormal(stddev=-0.01), ValueError, r"Argument `stddev` must be > 0. Received: stddev=-0.01"),
        (lambda: ki.ScaledNormal(stddev="0.01"), TypeError, r"Argument `stddev` must be a real number. Received: stddev='0.01'"),
    ],
)
def test_bad_arguments(make, error, message):
    with pytest.raises(error, match=message):
        make()


def test_truncated_is_refused_for_uniform():
    with pytest.raises(TypeError):
        ki.HeUniform(truncated=True)  # uniform classes take no `truncated`

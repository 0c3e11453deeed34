"""CyclicalLearningRate (Smith 2017) and OneCycle (Smith & Topin 2018) against the
values pinned by tests/schedules/generate_golden.py and the NumPy references."""

import json

import numpy as np
import pytest
import tensorflow as tf

from kerastools import schedules as S
from tests.schedules import reference as ref
from tests.schedules import generate_golden

GOLDEN = json.loads(generate_golden.PATH.read_text())
STEPS = tf.constant(GOLDEN["steps"], tf.int64)


def test_golden_file_is_what_the_script_generates():
    assert generate_golden.generate() == GOLDEN


@pytest.mark.parametrize("name", sorted(GOLDEN["cyclical"]))
def test_cyclical_matches_golden(name):
    p, rates = GOLDEN["cyclical"][name]["params"], GOLDEN["cyclical"][name]["rates"]
    schedule = S.CyclicalLearningRate(p["base_lr"], p["max_lr"], p["step_size"], mode=p["mode"], gamma=p["gamma"])
    np.testing.assert_allclose(schedule(STEPS).numpy(), rates, rtol=1e-7, atol=1e-15)


@pytest.mark.parametrize("name", sorted(GOLDEN["one_cycle"]))
def test_one_cycle_matches_golden(name):
    p, rates = GOLDEN["one_cycle"][name]["params"], GOLDEN["one_cycle"][name]["rates"]
    schedule = S.OneCycle(
        p["low"], p["high"], p["total"], pct_start=p["pct_start"], end_learning_rate=p["end"],
        three_phase=p["three_phase"], anneal_strategy=p["anneal"],
    )
    np.testing.assert_allclose(schedule(STEPS).numpy(), rates, rtol=1e-7, atol=1e-15)


def test_triangular_shapes():
    """Smith's figure 2: low at 0, 2s, 4s...; high at s, 3s...; triangular2 halves
    the amplitude each cycle; exp_range shrinks it by gamma ** g."""
    low, high, s = 0.001, 0.006, 100
    tri = S.CyclicalLearningRate(low, high, s)
    tri2 = S.CyclicalLearningRate(low, high, s, mode="triangular2")
    exp = S.CyclicalLearningRate(low, high, s, mode="exp_range", gamma=0.999)
    peaks = tf.constant([s, 3 * s, 5 * s])
    troughs = tf.constant([0, 2 * s, 4 * s])
    np.testing.assert_allclose(tri(peaks).numpy(), high, rtol=1e-7)
    np.testing.assert_allclose(tri(troughs).numpy(), low, rtol=1e-7)
    np.testing.assert_allclose(tri2(peaks).numpy() - low, (high - low) * np.array([1, 0.5, 0.25]), rtol=1e-6)
    np.testing.assert_allclose(exp(peaks).numpy() - low, (high - low) * 0.999 ** np.array([s, 3 * s, 5 * s]), rtol=1e-6)


def test_cyclical_epochs():
    schedule = S.CyclicalLearningRate(0.1, 1.0, step_size=2, steps_per_epoch=10)
    values = schedule(tf.range(60)).numpy()
    expected = [ref.cyclical(0.1, 1.0, 2, "triangular", 1.0, float(g // 10)) for g in range(60)]
    np.testing.assert_allclose(values, expected, rtol=1e-7)
    assert values[20] == np.float32(1.0) and values[40] == np.float32(0.1)


def test_one_cycle_phases():
    schedule = S.OneCycle(0.1, 1.0, total_steps=100, pct_start=0.25)
    values = schedule(tf.constant([0, 25, 50, 100, 10_000])).numpy()
    np.testing.assert_allclose(values, [0.1, 1.0, 0.1, 1e-5, 1e-5], rtol=1e-7)
    # rising then falling, no overshoot
    curve = schedule(tf.range(101)).numpy()
    assert np.all(np.diff(curve[:26]) > 0) and np.all(np.diff(curve[25:]) < 0)
    assert curve.max() == np.float32(1.0)


def test_one_cycle_half_start_has_no_annihilation_phase():
    schedule = S.OneCycle(0.1, 1.0, total_steps=100, pct_start=0.5, end_learning_rate=0.0)
    values = schedule(tf.constant([50, 99, 100])).numpy()
    np.testing.assert_allclose(values, [1.0, 1.0 - 0.9 * 49 / 50, 0.0], rtol=1e-6)

"""Every `Example:` in the schedules' docstrings runs and prints what it says."""

import doctest
import importlib

import keras
import numpy as np
import pytest

import kerastools
from kerastools import schedules

MODULES = [
    "kerastools.schedules.exponential",
    "kerastools.schedules.inverse_time",
    "kerastools.schedules.piecewise",
    "kerastools.schedules.polynomial",
    "kerastools.schedules.cosine",
    "kerastools.schedules.cosine_restarts",
    "kerastools.schedules.cyclical",
    "kerastools.schedules.one_cycle",
    "kerastools.schedules.warmup",
    "kerastools.schedules.sequential",
    "kerastools.schedules.scaled",
    "kerastools.schedules.plot",
    "kerastools.schedules._callbacks",
]


@pytest.mark.parametrize("name", MODULES)
def test_examples_run(name, tmp_path):
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    rng = np.random.default_rng(0)
    globs = {
        "keras": keras,
        "kerastools": kerastools,
        **{n: getattr(schedules, n) for n in schedules.__all__},
        **{n: getattr(kerastools.callbacks, n) for n in kerastools.callbacks.__all__},
        "model": model,
        "x": rng.random((16, 3), dtype=np.float32),
        "y": rng.random((16, 1), dtype=np.float32),
        "tmp_path": tmp_path,
    }
    if name.endswith("_callbacks"):
        model.compile(optimizer="sgd", loss=keras.losses.MeanSquaredError())
    module = importlib.import_module(name)
    flags = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
    result = doctest.testmod(module, globs=globs, optionflags=flags, verbose=False)
    assert result.attempted > 0
    assert result.failed == 0

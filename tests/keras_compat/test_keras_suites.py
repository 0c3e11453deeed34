"""Keras 3's own test suites, run against the kerastools classes that shadow Keras's.

Each Keras test module is loaded afresh from the installed Keras package under a
private name (the module Keras itself imports stays untouched), then the name
through which it reaches the class under test is rebound to the kerastools
class: ``Adam`` in ``adam_test``, ``layers`` (a view of ``keras.src.layers``
with ``BatchNormalization`` replaced) in ``batch_normalization_test``, and so on.
The test classes are subclassed here so that pytest collects them; the Keras
test code itself is not modified.

Only the tests that exercise a shadowed class are collected: the 1-D and 3-D
pooling tests (Keras's ``MaxPooling1D`` ...) are out of scope. Deliberate
differences are marked in ``EXPECTED_DIFFERENCES`` (strict xfail, so a test
that starts passing is reported) and described in docs/keras-compatibility.md.

This is the one place where kerastools's tests import ``keras.src``.
"""

import importlib.util
import pathlib
import types

import keras
import keras.src.layers
import keras.src.layers.activations.softmax
import keras.src.optimizers
import keras.src.optimizers.schedules
import pytest

import kerastools as kt

KERAS_SRC = pathlib.Path(keras.src.__file__).parent


class _Shadow(types.ModuleType):
    """A view of a Keras module in which some attributes are replaced."""

    def __init__(self, module, **replacements):
        super().__init__(module.__name__)
        self._module = module
        self.__dict__.update(replacements)

    def __getattr__(self, name):
        return getattr(self._module, name)


def _load(relative_path, **rebind):
    """Execute a Keras test module afresh and rebind module-level names in it."""
    path = KERAS_SRC / relative_path
    name = "kerastools_keras_suite." + relative_path.replace("/", ".").removesuffix(".py")
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for attribute, value in rebind.items():
        assert hasattr(module, attribute), f"{relative_path} has no global {attribute!r} to rebind"
        setattr(module, attribute, value)
    return module


_SCHEDULES = {
    name: getattr(kt.schedules, name)
    for name in (
        "ExponentialDecay",
        "PiecewiseConstantDecay",
        "PolynomialDecay",
        "InverseTimeDecay",
        "CosineDecay",
        "CosineDecayRestarts",
    )
}

# (Keras test module, names rebound in it, which test methods are in scope)
SUITES = {
    "sgd": ("optimizers/sgd_test.py", {"SGD": kt.optimizers.SGD}, None),
    "adagrad": ("optimizers/adagrad_test.py", {"Adagrad": kt.optimizers.Adagrad}, None),
    "rmsprop": ("optimizers/rmsprop_test.py", {"RMSprop": kt.optimizers.RMSprop}, None),
    "adam": ("optimizers/adam_test.py", {"Adam": kt.optimizers.Adam}, None),
    "adamw": ("optimizers/adamw_test.py", {"AdamW": kt.optimizers.AdamW}, None),
    "schedules": (
        "optimizers/schedules/learning_rate_schedule_test.py",
        {
            "schedules": _Shadow(keras.src.optimizers.schedules, **_SCHEDULES),
            # test_fit_lr_correctness trains with Adam and ExponentialDecay.
            "optimizers": _Shadow(keras.src.optimizers, Adam=kt.optimizers.Adam),
        },
        None,
    ),
    "dropout": (
        "layers/regularization/dropout_test.py",
        {"layers": _Shadow(keras.src.layers, Dropout=kt.layers.Dropout)},
        None,
    ),
    "batch_normalization": (
        "layers/normalization/batch_normalization_test.py",
        {"layers": _Shadow(keras.src.layers, BatchNormalization=kt.layers.BatchNormalization)},
        None,
    ),
    "max_pooling": (
        "layers/pooling/max_pooling_test.py",
        {"layers": _Shadow(keras.src.layers, MaxPooling2D=kt.layers.MaxPooling2D)},
        "2d",
    ),
    "average_pooling": (
        "layers/pooling/average_pooling_test.py",
        {"layers": _Shadow(keras.src.layers, AveragePooling2D=kt.layers.AveragePooling2D)},
        "2d",
    ),
    "softmax": (
        "layers/activations/softmax_test.py",
        {"softmax": _Shadow(keras.src.layers.activations.softmax, Softmax=kt.layers.Softmax)},
        None,
    ),
}

# Test ids (class.method, as pytest names them) where kerastools differs from
# Keras on purpose; each is explained in docs/keras-compatibility.md.
EXPECTED_DIFFERENCES = {
    "Keras_sgd_SGDTest.test_invalid_momentum": (
        "kerastools's SGD takes momentum in [0, 1) (momentum=1 never forgets a gradient) and says "
        "so: 'Argument `momentum` must be in [0, 1)'; Keras's test pins its wording '[0, 1]'. "
        "Both raise ValueError for -1 and 2."
    ),
}

MODULES = {suite: _load(path, **rebind) for suite, (path, rebind, _) in SUITES.items()}


def _collect(suite):
    """Subclass every Keras test class of `suite`, dropping out-of-scope methods."""
    _, _, scope = SUITES[suite]
    module = MODULES[suite]
    for name, cls in vars(module).items():
        if not (isinstance(cls, type) and issubclass(cls, keras.src.testing.TestCase)):
            continue
        if cls.__module__ != module.__name__:
            continue
        dropped = {
            method: None
            for method in dir(cls)
            if method.startswith("test") and scope is not None and scope not in method
        }
        if len(dropped) == sum(m.startswith("test") for m in dir(cls)):
            continue
        test_class = type(f"Keras_{suite}_{name}", (cls,), {**dropped, "__module__": __name__})
        globals()[test_class.__name__] = test_class


for _suite in SUITES:
    _collect(_suite)


@pytest.mark.parametrize("suite", sorted(SUITES))
def test_rebinding_reaches_the_kerastools_class(suite):
    """Every rebound name resolves, inside the loaded Keras module, to kerastools's class."""
    _, rebind, _ = SUITES[suite]
    module = MODULES[suite]
    for attribute, value in rebind.items():
        bound = getattr(module, attribute)
        assert bound is value
        if isinstance(value, _Shadow):
            for name in value.__dict__:
                if not name.startswith("_"):
                    assert getattr(bound, name).__module__.startswith("kerastools.")
        else:
            assert bound.__module__.startswith("kerastools.")

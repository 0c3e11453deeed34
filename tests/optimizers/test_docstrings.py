"""The examples in the optimizers' docstrings run and print what they say."""

import doctest
import importlib

import keras
import pytest

MODULES = ["sgd", "momentum", "adagrad", "rmsprop", "adam"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(f"kerastools.optimizers.{name}")
    result = doctest.testmod(module, extraglobs={"keras": keras}, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0

"""The examples in the layers' docstrings run and print what they say."""

import doctest
import importlib

import keras
import numpy as np
import pytest
import tensorflow as tf

import kerastools as kt

MODULES = ["batch_normalization", "dropout", "pooling", "softmax"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(f"kerastools.layers.{name}")
    result = doctest.testmod(
        module, extraglobs={"keras": keras, "np": np, "tf": tf, "kt": kt}, optionflags=doctest.NORMALIZE_WHITESPACE
    )
    assert result.attempted > 0 and result.failed == 0

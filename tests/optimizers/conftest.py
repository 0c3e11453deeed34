"""Fixtures of the optimizer tests."""

import keras
import pytest


@pytest.fixture
def float64():
    """float64 variables and optimizer learning rates (the root conftest restores
    floatx and the dtype policy after the test)."""
    keras.config.set_floatx("float64")
    keras.config.set_dtype_policy("float64")

"""Shared pytest setup: quiet TensorFlow, float32 defaults restored after each test."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import pytest  # noqa: E402
from hypothesis import HealthCheck, settings  # noqa: E402

# Property-based tests: "ci" (the default) keeps each property to a few dozen
# examples so the suite stays bounded; "thorough" is for deeper local runs:
#     HYPOTHESIS_PROFILE=thorough python -m pytest tests -m hypothesis
# No deadline: one example may build and fit a Keras model, whose first call
# traces a graph and takes seconds on a loaded machine.
settings.register_profile(
    "ci", max_examples=20, deadline=None, derandomize=True, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
settings.register_profile(
    "thorough", max_examples=500, deadline=None, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(autouse=True)
def _restore_keras_globals():
    """Tests that change floatx or the dtype policy must not leak it to others."""
    floatx, policy = keras.config.floatx(), keras.config.dtype_policy()
    yield
    keras.config.set_floatx(floatx)
    keras.config.set_dtype_policy(policy)

"""Keras's own tests use the `requires_trainable_backend` marker; mark expected differences."""

import pytest


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "requires_trainable_backend: Keras's marker (TensorFlow is trainable)"
    )


def pytest_collection_modifyitems(config, items):
    from tests.keras_compat.test_keras_suites import EXPECTED_DIFFERENCES

    for item in items:
        reason = EXPECTED_DIFFERENCES.get(item.nodeid.split("::", 1)[-1].replace("::", "."))
        if reason is not None:
            item.add_marker(pytest.mark.xfail(strict=True, reason=reason))

"""Doctests of the package: every `>>>` example in `kerastools/` runs under pytest.

`python -m pytest tests kerastools` (the README's test command) collects the
doctest of every module under `kerastools/` through the hook below; the
examples see `keras`, `np`, `tf` and `kt` (= kerastools) and run in a fresh
temporary directory, so an example that writes a file leaves nothing behind.

The hook replaces `--doctest-modules` on purpose: that flag would also import
every helper module under `tests/` (e.g. the distributed checks, which configure
TensorFlow's devices when imported) in the test process.
"""

import os
import pathlib

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import pytest  # noqa: E402
from _pytest.doctest import DoctestModule  # noqa: E402

PACKAGE = pathlib.Path(__file__).resolve().parent / "kerastools"


def pytest_collect_file(file_path, parent):
    if parent.config.option.doctestmodules:
        return None  # pytest's own plugin collects them
    if file_path.suffix == ".py" and PACKAGE in file_path.resolve().parents:
        return DoctestModule.from_parent(parent, path=file_path)
    return None


@pytest.fixture(autouse=True)
def _doctest_environment(request):
    """Names, a temporary working directory and Keras's globals for doctests."""
    if not isinstance(request.node, pytest.DoctestItem):
        yield
        return
    import keras
    import numpy as np
    import tensorflow as tf

    import kerastools

    namespace = request.getfixturevalue("doctest_namespace")
    namespace.update(keras=keras, np=np, tf=tf, kt=kerastools)
    monkeypatch = request.getfixturevalue("monkeypatch")
    monkeypatch.chdir(request.getfixturevalue("tmp_path"))
    floatx, policy = keras.config.floatx(), keras.config.dtype_policy()
    yield
    keras.config.set_floatx(floatx)
    keras.config.set_dtype_policy(policy)

"""Subprocess side of the resume test: ``python -m tests.saving._resume_worker PHASE DIR [CASE ...]``.

* ``first``: for every case, train `EPOCHS_BEFORE + EPOCHS_AFTER` epochs in one
  `fit` (``CASE.uninterrupted.npz``); build it afresh, train `EPOCHS_BEFORE`
  epochs, save it with `kerastools.saving.save_model` to ``CASE.h5`` and
  ``CASE.keras``, and continue the same model `EPOCHS_AFTER` epochs in this
  process (``CASE.continued.npz``).
* ``second`` (a new process): load each file, train `EPOCHS_AFTER` epochs and
  store the final state (``CASE.FORMAT.resumed.npz``).
"""

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from kerastools import saving  # noqa: E402
from tests.saving import cases as saving_cases  # noqa: E402

EPOCHS_BEFORE = 2
EPOCHS_AFTER = 2
FORMATS = ("h5", "keras")


def _store(path, model):
    arrays = saving_cases.state_arrays(model)
    np.savez(path, *arrays)


def first(directory, names):
    for name in names:
        model = saving_cases.fit(saving_cases.CASES[name](), name, EPOCHS_BEFORE + EPOCHS_AFTER)
        _store(os.path.join(directory, f"{name}.uninterrupted.npz"), model)
        model = saving_cases.fit(saving_cases.CASES[name](), name, EPOCHS_BEFORE)
        for fmt in FORMATS:
            saving.save_model(model, os.path.join(directory, f"{name}.{fmt}"))
        saving_cases.fit(model, name, EPOCHS_AFTER)
        _store(os.path.join(directory, f"{name}.continued.npz"), model)


def second(directory, names):
    for name in names:
        for fmt in FORMATS:
            model = saving.load_model(os.path.join(directory, f"{name}.{fmt}"))
            saving_cases.fit(model, name, EPOCHS_AFTER)
            _store(os.path.join(directory, f"{name}.{fmt}.resumed.npz"), model)


if __name__ == "__main__":
    tf.config.experimental.enable_op_determinism()
    phase, directory, *names = sys.argv[1:]
    {"first": first, "second": second}[phase](directory, names or list(saving_cases.CASES))
    print("done")

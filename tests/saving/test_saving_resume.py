"""Exact resumption across processes: N epochs, save, new process, M epochs == N + M.

The resumed state is compared with the same model continued in the first
process, and with one uninterrupted `fit` of N + M epochs. The latter is skipped
for optimizers with `use_ema`: Keras's `fit` ends by copying the moving averages
into the weights, so two `fit` calls differ from one even without saving.

Both phases run once for all cases of `tests/saving/cases.py` (a TensorFlow
start-up per process is the expensive part); each case and format is then a
separate test. CPU with `enable_op_determinism`: the comparison is bitwise.
"""

import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest

from tests.saving import cases as saving_cases

pytestmark = pytest.mark.slow  # every test here reads the files two worker processes wrote

ROOT = pathlib.Path(__file__).resolve().parents[2]


def run_worker(*args, timeout=600):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONPATH=str(ROOT))
    done = subprocess.run(
        [sys.executable, "-m", "tests.saving._resume_worker", *map(str, args)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    return done


@pytest.fixture(scope="module")
def resumed(tmp_path_factory):
    directory = tmp_path_factory.mktemp("resume")
    run_worker("first", directory)
    run_worker("second", directory)  # a new Python process
    return directory


def _load(path):
    with np.load(path) as data:
        return [data[f"arr_{i}"] for i in range(len(data.files))]


def _assert_same(got, expected, label):
    assert len(got) == len(expected), label
    for index, (a, b) in enumerate(zip(got, expected)):
        assert a.dtype == b.dtype and a.shape == b.shape, f"{label}: #{index}"
        np.testing.assert_array_equal(a, b, err_msg=f"{label}: state array #{index}")


@pytest.mark.parametrize("fmt", ["h5", "keras"])
@pytest.mark.parametrize("name", sorted(saving_cases.CASES))
def test_resume_in_new_process_is_bitwise_identical(resumed, name, fmt):
    got = _load(resumed / f"{name}.{fmt}.resumed.npz")
    continued = _load(resumed / f"{name}.continued.npz")
    # Training moved the first kernel: the comparison is not between untouched models.
    initial = saving_cases.state_arrays(saving_cases.CASES[name]())
    assert not np.array_equal(continued[0], initial[0])
    # Same model continued without saving, in the first process.
    _assert_same(got, continued, f"{name} ({fmt}) vs continued")
    if not saving_cases.ends_fit_with_ema(name):
        # One uninterrupted fit of N + M epochs.
        _assert_same(got, _load(resumed / f"{name}.uninterrupted.npz"), f"{name} ({fmt}) vs uninterrupted")


def test_saved_files_are_in_the_directory(resumed):
    names = sorted(os.listdir(resumed))
    for name in saving_cases.CASES:
        assert f"{name}.h5" in names and f"{name}.keras" in names
    assert not [n for n in names if n.startswith(".")], names  # no temporary files left

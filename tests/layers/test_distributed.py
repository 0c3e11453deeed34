"""MirroredStrategy on two logical CPU devices, in a subprocess (see `distributed_check`)."""

import os
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
CHECKS = [
    "check_a_cnn_of_every_layer_trains_with_fit",
    "check_dropout_draws_a_different_mask_on_each_replica",
    "check_synchronized_batch_norm_uses_the_global_batch",
    "check_unsynchronized_batch_norm_uses_each_replica_slice",
]


@pytest.mark.slow
def test_layers_under_mirrored_strategy():
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    result = subprocess.run(
        [sys.executable, "-m", "tests.layers.distributed_check"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr[-4000:]
    passed = [line.removeprefix("passed: ") for line in result.stdout.splitlines() if line.startswith("passed: ")]
    assert passed == CHECKS

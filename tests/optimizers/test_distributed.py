"""The optimizers under `tf.distribute.MirroredStrategy` on two logical CPU
devices give the same weights as on one device, through the fused kernels (one
copy per device). Runs `distributed_check.py` in a fresh process, because the
logical devices must exist before TensorFlow initialises its devices."""

import json
import os
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_mirrored_strategy_matches_one_device():
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "2"}
    result = subprocess.run(
        [sys.executable, "-m", "tests.optimizers.distributed_check"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report.pop("replicas") == 2
    assert {"sgd/embedding", "adagrad/embedding", "adam/dense", "momentum/dense"} <= report.keys()
    for name, run in report.items():
        assert run["moved"] > 1e-3, name  # training changed the weights
        assert run["max_diff"] <= 1e-12, name  # float64: only summation order differs
        assert run["kernel_copies"] == 2, name  # the fused kernel, once per device

"""Faults of a local cluster: a worker SIGKILLed mid-epoch (and the restarted cluster
resuming), a worker that hangs, a worker that cannot reach the others.

Every case must end in a clear error within a bounded time, never a silent hang.
The bounds are the strategy's own timeouts (``--collective-timeout``,
``--startup-timeout`` of `_worker.py`) plus TensorFlow start-up on a loaded
2-core machine; `LocalCluster` kills every worker when a test leaves it.
"""

import signal
import time

import numpy as np
import pytest

from tests.distribute import _cluster, _models

pytestmark = pytest.mark.slow

COLLECTIVE_TIMEOUT = 20
# Time for a survivor to notice: the collective timeout, or TensorFlow's health
# check (3 failed probes, 10 s each) when the dead peer's socket closes; plus
# writing the traceback. Generous because the machine is shared.
NOTICE_S = 3 * COLLECTIVE_TIMEOUT + 60
EPOCHS = 4
STALL_EPOCH = 2  # 0-based: killed after two batches of the third epoch
# Messages TensorFlow gives a collective whose peer is gone or silent.
PEER_ERRORS = ("DeadlineExceeded", "Collective ops is aborted", "UnavailableError", "timed out", "Socket closed")



def test_a_worker_killed_mid_epoch_fails_the_cluster_and_a_restart_resumes_exactly(tmp_path):
    uninterrupted, interrupted = tmp_path / "uninterrupted", tmp_path / "interrupted"
    _cluster.run_cluster(uninterrupted, "backup", 2, "--epochs", EPOCHS)
    want = _models.load_results(uninterrupted / "backup_worker0.npz")["run"]

    args = ("--epochs", EPOCHS, "--stall-at", STALL_EPOCH, "--collective-timeout", COLLECTIVE_TIMEOUT)
    with _cluster.cluster(interrupted, "backup", 2, *args) as workers:
        _cluster.wait_for(interrupted / "stalled", workers.processes[1], _cluster.TIMEOUT_S)
        workers.kill(1, signal.SIGKILL)  # mid-epoch: two of five batches of epoch 3 done
        assert workers.processes[1].returncode == -signal.SIGKILL
        start = time.monotonic()
        while workers.processes[0].poll() is None:
            assert time.monotonic() - start < NOTICE_S, f"the chief still waits after {NOTICE_S} s\n{workers.logs_tail()}"
            time.sleep(0.5)
        assert workers.processes[0].returncode != 0
        log = workers.logs(0)
        assert any(message in log for message in PEER_ERRORS), log[-3000:]
    backup = interrupted / "backup" / "backup.h5"
    assert backup.exists()  # the last completed epoch, written by the chief
    assert not (interrupted / "backup_worker0.npz").exists()

    # The same command again: every worker restores epoch 2 and finishes.
    (interrupted / "stalled").unlink()
    _cluster.run_cluster(interrupted, "backup", 2, "--epochs", EPOCHS)
    for index in range(2):
        got = _models.load_results(interrupted / f"backup_worker{index}.npz")["run"]
        assert int(got["initial_epoch"]) == STALL_EPOCH
        # Deterministic on CPU (fixed data order per epoch, restored seeds,
        # optimizer slots and step count, the same all-reduce order): equal to
        # the bit, dropout masks included.
        for a, b in zip(_models.weights(got), _models.weights(want)):
            np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(got["loss"], want["loss"][STALL_EPOCH:])
    assert not backup.exists()  # deleted by the chief after the completed fit


def test_a_hung_worker_fails_the_others_within_the_collective_timeout(tmp_path):
    # Worker 1 sleeps between two steps and is never killed: worker 0 waits in
    # the next all-reduce until the collective timeout ends it.
    args = ("--epochs", 2, "--stall-at", 0, "--collective-timeout", COLLECTIVE_TIMEOUT)
    with _cluster.cluster(tmp_path, "fault", 2, *args) as workers:
        _cluster.wait_for(tmp_path / "stalled", workers.processes[1], _cluster.TIMEOUT_S)
        start = time.monotonic()
        while workers.processes[0].poll() is None:
            assert time.monotonic() - start < NOTICE_S, f"worker 0 still waits after {NOTICE_S} s\n{workers.logs_tail()}"
            time.sleep(0.5)
        waited = time.monotonic() - start
        assert workers.processes[0].returncode != 0
        log = workers.logs(0)
        assert "DeadlineExceeded" in log or "timed out" in log, log[-3000:]
        assert "fault run finished" not in log
        assert workers.processes[1].poll() is None  # still hung: only the timeout ended worker 0
    assert waited < NOTICE_S


def test_a_worker_that_cannot_reach_the_others_fails_within_the_startup_timeout(tmp_path):
    # A cluster of two in TF_CONFIG, but the second worker never starts.
    startup_timeout = 10
    cluster = _cluster.cluster(tmp_path, "fault", 2, "--startup-timeout", startup_timeout)
    cluster.num_workers = 1  # start worker 0 only; worker 1's address stays silent
    with cluster as workers:
        codes = workers.wait(timeout=startup_timeout + 120)
        log = workers.logs(0)
    assert codes[0] != 0, log[-3000:]
    assert f"Not every worker joined within `startup_timeout`={float(startup_timeout)} seconds" in log, log[-3000:]
    assert "strategy ready" not in log

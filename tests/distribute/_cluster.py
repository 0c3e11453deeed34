"""Running `_worker.py` as a local cluster or as one process, bounded in time, from the tests."""

import os
import pathlib
import subprocess
import sys
import time

from kerastools.distribute import LocalCluster

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parents[1]
WORKER = HERE / "_worker.py"
# A cluster run trains four small CNNs for 15 steps each; on the shared 2-core
# machine that takes about a minute for 2 workers. The bound only stops a hang.
TIMEOUT_S = 420


def env():
    environment = dict(os.environ)
    # The workers import this checkout's kerastools even when it is not installed.
    environment["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), environment.get("PYTHONPATH")]))
    environment.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    return environment


def cluster(out, mode, num_workers, *args):
    """A `LocalCluster` (not started) of `num_workers` `_worker.py` processes."""
    command = [sys.executable, str(WORKER), str(out), mode, *map(str, args)]
    return LocalCluster(command, num_workers, log_dir=out / f"logs-{mode}-{time.monotonic_ns()}", env=env())


def run_cluster(out, mode, num_workers, *args, timeout=TIMEOUT_S):
    """Run a cluster to the end; every worker must exit 0. Returns the cluster (for its logs)."""
    with cluster(out, mode, num_workers, *args) as workers:
        codes = workers.wait(timeout)
        assert codes == [0] * num_workers, f"exit codes {codes}\n{workers.logs_tail()}"
    return workers


def run_single(out, mode, *args, timeout=TIMEOUT_S):
    """Run `_worker.py` as one process without ``TF_CONFIG``; it must exit 0."""
    environment = env()
    environment.pop("TF_CONFIG", None)
    result = subprocess.run(
        [sys.executable, str(WORKER), str(out), mode, *map(str, args)],
        env=environment, capture_output=True, text=True, timeout=timeout,
    )
    assert result.returncode == 0, f"stdout:\n{result.stdout[-3000:]}\nstderr:\n{result.stderr[-3000:]}"
    return result


def wait_for(path, process, timeout):
    """Wait until `path` exists; fail early if `process` exits first."""
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert process.poll() is None, f"the worker exited ({process.returncode}) before writing {path}"
        assert time.monotonic() < deadline, f"{path} did not appear within {timeout} s"
        time.sleep(0.2)

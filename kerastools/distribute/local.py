"""`LocalCluster`: N worker processes of one script on this machine, each with its ``TF_CONFIG``.

For trying multi-worker training on one host (examples, tests, benchmarks):
the same script runs once per worker, with ``TF_CONFIG`` naming free
``127.0.0.1`` ports. On several hosts each host sets its own ``TF_CONFIG``
instead (see the guide "Distributed training").
"""

import json
import os
import pathlib
import signal
import socket
import subprocess
import time

from kerastools._validation import check_int


def free_ports(count, host="127.0.0.1"):
    """`count` distinct TCP ports free on `host` now (all held open together while
    choosing, so they differ; another process may still take one before a worker binds it)."""
    count = check_int("count", count, low=1)
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind((host, 0))
            sockets.append(sock)
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def tf_config(addresses, index, job="worker"):
    """The ``TF_CONFIG`` JSON of task `index` in a cluster of `addresses` ("host:port")."""
    return json.dumps({"cluster": {job: list(addresses)}, "task": {"type": job, "index": int(index)}})


class LocalCluster:
    """Run `command` as `num_workers` local worker processes of one cluster.

    Worker `i` gets ``TF_CONFIG`` with task index `i` (index 0 is the chief);
    its stdout and stderr go to
    ``log_dir/worker{i}.log``. Each worker is the leader of its own process
    group, and leaving the ``with`` block kills every group still alive, so no
    worker outlives the cluster, whatever happened.

    Args:
        command: the argument list of one worker (e.g. ``[sys.executable, "train.py"]``).
        num_workers: processes (>= 1). Defaults to `2`.
        log_dir: folder for the logs (created). Defaults to `"."`.
        env: environment of the workers (``TF_CONFIG`` is added). Defaults to
            `None` (this process's environment).
        ports: the `num_workers` ports to use. Defaults to `None` (free ones).

    Example:

    Not run as a doctest, since it starts worker processes of a ``train.py``
    of yours: `tests/distribute` and `examples/10_multi_worker.py` run it.

    >>> with LocalCluster([sys.executable, "train.py"], 2, log_dir="logs") as cluster:  # doctest: +SKIP
    ...     codes = cluster.wait(timeout=600)
    """

    def __init__(self, command, num_workers=2, *, log_dir=".", env=None, ports=None):
        if isinstance(command, (str, bytes)) or not list(command):
            raise TypeError(f"Argument `command` must be a non-empty list of arguments. Received: command={command!r}")
        self.command = [os.fspath(c) for c in command]
        self.num_workers = check_int("num_workers", num_workers, low=1)
        ports = free_ports(self.num_workers) if ports is None else list(ports)
        if len(ports) != self.num_workers:
            raise ValueError(f"Argument `ports` must hold `num_workers`={self.num_workers} ports. Received: ports={ports!r}")
        self.addresses = [f"127.0.0.1:{p}" for p in ports]
        self.log_dir = pathlib.Path(log_dir)
        self.env = dict(os.environ if env is None else env)
        self.processes = []

    def log_path(self, index):
        return self.log_dir / f"worker{index}.log"

    def start(self):
        """Start every worker; returns `self`."""
        self.log_dir.mkdir(parents=True, exist_ok=True)
        for index in range(self.num_workers):
            env = dict(self.env, TF_CONFIG=tf_config(self.addresses, index))
            with open(self.log_path(index), "wb") as log:
                self.processes.append(
                    subprocess.Popen(self.command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
                )
        return self

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.kill()

    def kill(self, index=None, sig=signal.SIGKILL):
        """Send `sig` to worker `index`'s process group (every worker's when `None`)."""
        targets = self.processes if index is None else [self.processes[index]]
        for process in targets:
            if process.poll() is None:
                try:
                    os.killpg(process.pid, sig)
                except ProcessLookupError:
                    pass
        for process in targets:
            if sig == signal.SIGKILL:
                process.wait()

    def wait(self, timeout):
        """Wait until every worker has exited; returns their exit codes.

        A worker that fails does not leave the others waiting on it for
        ever: they fail at their next all-reduce within the strategy's
        collective timeout. Past `timeout` seconds every worker is killed and
        `TimeoutError` is raised with the tail of each log.
        """
        deadline = time.monotonic() + timeout
        while any(p.poll() is None for p in self.processes):
            if time.monotonic() > deadline:
                self.kill()
                raise TimeoutError(f"The local cluster did not finish within {timeout} s.\n{self.logs_tail()}")
            time.sleep(0.2)
        return [p.returncode for p in self.processes]

    def logs(self, index):
        path = self.log_path(index)
        return path.read_text(errors="replace") if path.exists() else ""

    def logs_tail(self, chars=3000):
        return "\n".join(f"--- worker {i} ---\n{self.logs(i)[-chars:]}" for i in range(self.num_workers))

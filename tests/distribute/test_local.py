"""`LocalCluster` and `free_ports`, with tiny Python commands instead of TensorFlow workers."""

import json
import os
import signal
import sys
import time

import pytest

from kerastools.distribute import LocalCluster, free_ports, parse_tf_config


def test_free_ports_are_distinct_and_bindable():
    import socket

    ports = free_ports(5)
    assert len(set(ports)) == 5
    for port in ports:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", port))


@pytest.mark.parametrize("command, match", [("python x.py", "must be a non-empty list"), ([], "must be a non-empty list")])
def test_command_must_be_an_argument_list(command, match):
    with pytest.raises(TypeError, match=match):
        LocalCluster(command)


def test_num_workers_and_ports_are_checked():
    with pytest.raises(ValueError, match="num_workers"):
        LocalCluster([sys.executable], 0)
    with pytest.raises(ValueError, match=r"Argument `ports` must hold `num_workers`=2 ports. Received: ports=\[1\]"):
        LocalCluster([sys.executable], 2, ports=[1])


@pytest.mark.slow
def test_each_worker_gets_its_own_tf_config_and_log(tmp_path):
    code = "import os; print('TF_CONFIG=' + os.environ['TF_CONFIG'])"
    with LocalCluster([sys.executable, "-c", code], 3, log_dir=tmp_path) as cluster:
        assert cluster.wait(timeout=60) == [0, 0, 0]
    for index in range(3):
        line = next(l for l in cluster.logs(index).splitlines() if l.startswith("TF_CONFIG="))
        config = parse_tf_config(line.removeprefix("TF_CONFIG="))
        assert config["task"] == {"type": "worker", "index": index}
        assert config["cluster"]["worker"] == cluster.addresses
        assert all(a.startswith("127.0.0.1:") for a in cluster.addresses)


@pytest.mark.slow
def test_a_hung_cluster_is_killed_at_the_timeout(tmp_path):
    code = "import time; print('up', flush=True); time.sleep(600)"
    with LocalCluster([sys.executable, "-c", code], 2, log_dir=tmp_path) as cluster:
        start = time.monotonic()
        with pytest.raises(TimeoutError, match=r"did not finish within 1 s(.|\n)*--- worker 1 ---"):
            cluster.wait(timeout=1)
        assert time.monotonic() - start < 30
        assert all(p.poll() is not None for p in cluster.processes)


@pytest.mark.slow
def test_leaving_the_block_kills_every_worker_and_its_children(tmp_path):
    # Each worker starts a child of its own: the whole process group must go.
    code = (
        "import subprocess, sys, time\n"
        "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)'])\n"
        "print('child', child.pid, flush=True)\n"
        "time.sleep(600)\n"
    )
    with pytest.raises(RuntimeError, match="boom"):
        with LocalCluster([sys.executable, "-c", code], 2, log_dir=tmp_path) as cluster:
            deadline = time.monotonic() + 60
            while not all("child" in cluster.logs(i) for i in range(2)):
                assert time.monotonic() < deadline
                time.sleep(0.1)
            raise RuntimeError("boom")
    children = [int(cluster.logs(i).split("child ")[1].split()[0]) for i in range(2)]
    assert all(p.returncode == -signal.SIGKILL for p in cluster.processes)
    deadline = time.monotonic() + 10
    while any(_alive(pid) for pid in children):
        assert time.monotonic() < deadline, "a worker's child outlived the cluster"
        time.sleep(0.1)


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A killed child whose parent died is reaped by init; until then it is a zombie.
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split()[2] != "Z"
    except FileNotFoundError:
        return False


def test_tf_config_json_is_what_tensorflow_reads():
    from kerastools.distribute import tf_config

    assert json.loads(tf_config(["h:1", "h:2"], 1)) == {"cluster": {"worker": ["h:1", "h:2"]}, "task": {"type": "worker", "index": 1}}

"""Caviar on localhost: a chief and two workers in separate processes, one worker killed mid-trial."""

import json
import os
import subprocess
import sys
import time

import pytest

from kerastools import tuning
from tests.tuning import _caviar_worker as worker

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEADLINE = 150.0  # seconds for the whole test; it takes about 20 on a quiet 2-core machine


def _wait_for(condition, processes, deadline, what):
    while not condition():
        for name, process in processes.items():
            if process.poll() is not None:
                raise AssertionError(f"{name} exited with {process.returncode} while waiting for {what}")
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def _log(tmp_path, name):
    with open(tmp_path / f"{name}.log", encoding="utf-8", errors="replace") as handle:
        return handle.read()[-4000:]


@pytest.mark.slow
def test_search_survives_a_worker_killed_mid_trial(tmp_path):
    project, markers = tmp_path / "project", tmp_path / "markers"
    markers.mkdir()
    port = tuning.free_port()
    deadline = time.monotonic() + DEADLINE
    processes = {}

    def start(tuner_id, **extra):
        env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", **tuning.caviar_environment(tuner_id, port), **extra)
        log = open(tmp_path / f"{tuner_id}.log", "w")
        processes[tuner_id] = subprocess.Popen(
            [sys.executable, "-m", "tests.tuning._caviar_worker", str(project), str(markers)], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
        )
        log.close()

    try:
        start("chief")
        start("tuner0", CAVIAR_HANG="tuner0")
        start("tuner1")
        # tuner0 reports that it started a trial, then blocks in it with its heartbeat running.
        _wait_for(lambda: any(n.startswith("tuner0-") for n in os.listdir(markers)), processes, deadline, "tuner0 to start a trial")
        (victim,) = [n.split("-", 1)[1] for n in os.listdir(markers) if n.startswith("tuner0-")]
        # Alive for longer than the timeout: the heartbeats must keep its trial.
        time.sleep(1.5 * worker.TRIAL_TIMEOUT)
        assert not (markers / f"tuner1-{victim}").exists(), "a live worker's trial was taken away"
        processes["tuner0"].kill()
        processes["tuner0"].wait()
        killed_at = time.time()
        for name in ("tuner1", "chief"):
            remaining = deadline - time.monotonic()
            assert processes[name].wait(timeout=max(remaining, 1)) == 0, _log(tmp_path, name)
            if name == "tuner1":
                worker_done = time.monotonic()
        # The chief returns as soon as the last worker is told to stop, not on a 20-second tick.
        assert time.monotonic() - worker_done < 10.0
    finally:
        for process in processes.values():
            if process.poll() is None:
                process.kill()
                process.wait()

    with open(project / "summary.json") as handle:
        summary = json.load(handle)
    ids = sorted(summary["statuses"])
    assert len(ids) == worker.MAX_TRIALS
    assert set(summary["statuses"].values()) == {"COMPLETED"}, summary
    assert sorted(summary["end_order"]) == ids, summary  # every trial ended exactly once
    assert [(e["trial_id"], e["tuner_id"]) for e in summary["expired_trials"]] == [(victim, "tuner0")]
    assert summary["dropped_reports"] == []
    # The killed trial was run again by the live worker, after the kill.
    assert (markers / f"tuner1-{victim}").stat().st_mtime >= killed_at - 0.01
    assert sorted(os.listdir(markers)) == sorted([f"tuner0-{victim}"] + [f"tuner1-{i}" for i in ids])
    assert set(summary["best"]) >= {"units", "schedule", "optimizer", "learning_rate"}

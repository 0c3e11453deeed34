"""`fault_tolerant` on the oracle side, driven by hand with a fake clock (no processes)."""

import json
import os

import keras_tuner
import pytest

from kerastools import tuning

TIMEOUT = 10.0


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


class ByHand(keras_tuner.RandomSearch):
    """A tuner whose trials are run by hand in these tests (run_trial is never called)."""

    def run_trial(self, trial, **kwargs):
        raise NotImplementedError


def make_tuner(tmp_path, max_trials=3, recovering=True):
    hp = keras_tuner.HyperParameters()
    hp.Float("x", 0.0, 1.0)
    tuner = ByHand(
        hyperparameters=hp, objective=keras_tuner.Objective("score", "min"), max_trials=max_trials, seed=0, directory=str(tmp_path), project_name="p"
    )
    tuner.oracle.verbose = 0
    clock = Clock()
    if recovering:
        tuning.fault_tolerant(tuner, trial_timeout=TIMEOUT)
        tuner.oracle._clock = clock
    return tuner.oracle, clock


def finish(oracle, trial, score):
    oracle.update_trial(trial.trial_id, {"score": score})
    trial.status = "COMPLETED"
    oracle.end_trial(trial)


def test_plain_keras_tuner_loses_a_dead_workers_trial(tmp_path):
    """What KerasTuner 1.4.8 does by itself: the trial stays RUNNING, one trial
    fewer completes, and the chief's exit condition never becomes true."""
    oracle, _ = make_tuner(tmp_path, recovering=False)
    lost = oracle.create_trial("w0")  # w0 dies here
    for _ in range(2):
        finish(oracle, oracle.create_trial("w1"), 0.5)
    assert oracle.create_trial("w1").status == "STOPPED"
    assert oracle.trials[lost.trial_id].status == "RUNNING"
    assert oracle.ongoing_trials == {"w0": lost} and oracle.tuner_ids == {"w0"}


def test_silent_workers_trial_is_queued_again(tmp_path):
    oracle, clock = make_tuner(tmp_path)
    a = oracle.create_trial("w0")
    b = oracle.create_trial("w1")
    values = dict(a.hyperparameters.values)
    for _ in range(2):  # w1 sends heartbeats while it trains; w0 is silent (dead)
        clock.now += 0.6 * TIMEOUT
        oracle.get_trial(b.trial_id)
    finish(oracle, b, 0.3)
    retried = oracle.create_trial("w1")
    assert retried.trial_id == a.trial_id and retried.hyperparameters.values == values
    assert oracle.expired_trials == [{"trial_id": a.trial_id, "tuner_id": "w0", "silent_seconds": 1.2 * TIMEOUT}]
    assert "w0" not in oracle.tuner_ids and oracle.ongoing_trials == {"w1": retried}
    finish(oracle, retried, 0.1)
    finish(oracle, oracle.create_trial("w1"), 0.2)
    assert oracle.create_trial("w1").status == "STOPPED"
    assert oracle.search_finished()
    assert sorted(oracle.end_order) == sorted(oracle.trials) and len(set(oracle.end_order)) == 3
    assert {t.status for t in oracle.trials.values()} == {"COMPLETED"}
    assert oracle.get_best_trials()[0].trial_id == a.trial_id
    with open(os.path.join(str(tmp_path), "p", "oracle.json")) as handle:
        assert json.load(handle)["fault_tolerance"]["expired_trials"][0]["trial_id"] == a.trial_id


def test_heartbeats_keep_a_long_trial(tmp_path):
    oracle, clock = make_tuner(tmp_path)
    a = oracle.create_trial("w0")
    for _ in range(10):  # ten timeouts long, with a heartbeat every half timeout
        clock.now += 0.5 * TIMEOUT
        oracle.get_trial(a.trial_id)
    oracle.expire_silent_workers()
    assert oracle.expired_trials == [] and oracle.ongoing_trials["w0"].trial_id == a.trial_id


def test_idle_instead_of_stopped_while_a_trial_may_come_back(tmp_path):
    oracle, clock = make_tuner(tmp_path, max_trials=2)
    a = oracle.create_trial("w0")
    finish(oracle, oracle.create_trial("w1"), 0.5)
    answer = oracle.create_trial("w1")
    assert answer.status == "IDLE" and "w1" in oracle.tuner_ids and not oracle.search_finished()
    clock.now += TIMEOUT + 1  # w0 died; w1 keeps asking
    retried = oracle.create_trial("w1")
    assert retried.status == "RUNNING" and retried.trial_id == a.trial_id
    finish(oracle, retried, 0.4)
    assert oracle.create_trial("w1").status == "STOPPED" and oracle.search_finished()


def test_late_report_after_the_rerun_is_dropped(tmp_path):
    oracle, clock = make_tuner(tmp_path, max_trials=1)
    a = oracle.create_trial("w0")
    clock.now += TIMEOUT + 1  # w0 is only paused, not dead
    rerun = oracle.create_trial("w1")
    assert rerun.trial_id == a.trial_id
    finish(oracle, rerun, 0.7)
    finish(oracle, a, 0.1)  # w0 wakes up and reports: dropped
    assert oracle.trials[a.trial_id].score == 0.7 and oracle.end_order == [a.trial_id]
    assert oracle.dropped_reports == [{"trial_id": a.trial_id, "report": "update_trial"}, {"trial_id": a.trial_id, "report": "end_trial"}]


def test_late_report_before_the_rerun_is_kept(tmp_path):
    oracle, clock = make_tuner(tmp_path, max_trials=1)
    a = oracle.create_trial("w0")
    clock.now += TIMEOUT + 1
    oracle.expire_silent_workers()
    assert oracle._retry_queue == [a.trial_id]
    finish(oracle, a, 0.2)  # the paused worker finishes before anyone took the trial again
    assert oracle._retry_queue == [] and oracle.end_order == [a.trial_id] and oracle.trials[a.trial_id].score == 0.2
    assert oracle.create_trial("w1").status == "STOPPED" and oracle.search_finished()


def test_silent_idle_worker_is_forgotten(tmp_path):
    oracle, clock = make_tuner(tmp_path, max_trials=1)
    finish(oracle, oracle.create_trial("w0"), 0.5)
    oracle.tuner_ids.add("w1")  # w1 asked once, then died while idle
    assert oracle.create_trial("w0").status == "STOPPED" and not oracle.search_finished()
    clock.now += TIMEOUT + 1
    oracle.expire_silent_workers()
    assert oracle.search_finished()


def test_state_of_an_earlier_run_is_read_back(tmp_path):
    oracle, clock = make_tuner(tmp_path, max_trials=2)
    oracle.create_trial("w0")
    clock.now += TIMEOUT + 1
    oracle.expire_silent_workers()
    again, _ = make_tuner(tmp_path, max_trials=2)  # overwrite=False: the project is reloaded
    assert [e["tuner_id"] for e in again.expired_trials] == ["w0"]


def test_caviar_environment_and_free_port():
    port = tuning.free_port()
    assert 1 <= port <= 65535
    assert tuning.caviar_environment("tuner1", port) == {
        "KERASTUNER_TUNER_ID": "tuner1",
        "KERASTUNER_ORACLE_IP": "127.0.0.1",
        "KERASTUNER_ORACLE_PORT": str(port),
    }


@pytest.mark.parametrize(
    "call, error, match",
    [
        (lambda t: tuning.fault_tolerant(object()), TypeError, r"`tuner` must be a keras_tuner tuner. Received: tuner=<object"),
        (lambda t: tuning.fault_tolerant(t, trial_timeout=0), ValueError, r"`trial_timeout` must be > 0. Received: trial_timeout=0.0"),
        (lambda t: tuning.fault_tolerant(t, trial_timeout=5, heartbeat_interval=5), ValueError, r"`heartbeat_interval` must be in \(0, 5\). Received: heartbeat_interval=5.0"),
        (lambda t: tuning.caviar_environment("", 80), TypeError, r"`tuner_id` must be a non-empty string. Received: tuner_id=''"),
        (lambda t: tuning.caviar_environment("chief", 70000), ValueError, r"`port` must be an integer in \[1, 65535\]. Received: port=70000"),
    ],
)
def test_bad_input(tmp_path, call, error, match):
    tuner = ByHand(hyperparameters=keras_tuner.HyperParameters(), objective="loss", max_trials=1, directory=str(tmp_path))
    with pytest.raises(error, match=match):
        call(tuner)


def test_chief_that_cannot_serve_raises(tmp_path, monkeypatch):
    """The chief serves from a thread; a failure there reaches the caller of `search`."""
    for key, value in tuning.caviar_environment("chief", 8470, host="256.256.256.256").items():
        monkeypatch.setenv(key, value)
    hp = keras_tuner.HyperParameters()
    hp.Float("x", 0.0, 1.0)
    tuner = ByHand(hyperparameters=hp, objective="loss", max_trials=1, directory=str(tmp_path))
    tuning.fault_tolerant(tuner, trial_timeout=5)
    with pytest.raises(RuntimeError, match="256.256.256.256:8470"):
        tuner.search()


def test_coarse_to_fine_round_waits_for_a_requeued_trial(tmp_path):
    """Rounds are synchronous: the next round starts only once the dead worker's
    trial has been run again by a live one."""

    class ByHandCoarseToFine(tuning.CoarseToFine):
        def run_trial(self, trial, **kwargs):
            raise NotImplementedError

    hp = keras_tuner.HyperParameters()
    hp.Float("x", 0.0, 1.0)
    tuner = ByHandCoarseToFine(
        hyperparameters=hp, objective=keras_tuner.Objective("score", "min"), max_trials=4, rounds=[2, 2], seed=3, directory=str(tmp_path)
    )
    tuner.oracle.verbose = 0
    tuning.fault_tolerant(tuner, trial_timeout=TIMEOUT)
    oracle, clock = tuner.oracle, Clock()
    oracle._clock = clock
    lost = oracle.create_trial("w0")  # w0 dies in round 0
    finish(oracle, oracle.create_trial("w1"), 0.5)
    assert oracle.create_trial("w1").status == "IDLE" and len(oracle.boxes) == 1
    clock.now += TIMEOUT + 1
    retried = oracle.create_trial("w1")
    assert retried.trial_id == lost.trial_id
    finish(oracle, retried, 0.1)
    nxt = oracle.create_trial("w1")
    assert nxt.status == "RUNNING" and oracle.round_of(2) == 1 and len(oracle.boxes) == 2
    lo, hi = oracle.boxes[1]["intervals"]["x"]
    assert lo <= lost.hyperparameters.values["x"] <= hi  # the box is centred on the best trial: the re-run one

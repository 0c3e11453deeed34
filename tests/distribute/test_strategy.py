"""`parse_tf_config` and the argument checks of `multi_worker_strategy` (no cluster started).

Every check here fails before TensorFlow configures anything, so these tests
run in the pytest process.
"""

import json

import pytest
import tensorflow as tf
from hypothesis import given
from hypothesis import strategies as st

import kerastools as kt
from kerastools.distribute import parse_tf_config, tf_config


def config(cluster, task):
    return json.dumps({"cluster": cluster, "task": task})


TWO = {"worker": ["127.0.0.1:2222", "127.0.0.1:2223"]}


@pytest.mark.parametrize(
    "raw, match",
    [
        ("{not json", "it is not JSON"),
        ("[1, 2]", "it is not a JSON object"),
        (json.dumps({"task": {"type": "worker", "index": 0}}), "'cluster' must be a non-empty object"),
        (config({}, {"type": "worker", "index": 0}), "'cluster' must be a non-empty object"),
        (config({"ps": ["a:1"]}, {"type": "ps", "index": 0}), "unknown job 'ps'"),
        (config({"worker": []}, {"type": "worker", "index": 0}), r"cluster\['worker'\] must be a non-empty list"),
        (config({"worker": "127.0.0.1:2222"}, {"type": "worker", "index": 0}), r"cluster\['worker'\] must be a non-empty list"),
        (config({"worker": ["localhost"]}, {"type": "worker", "index": 0}), "not a 'host:port' string"),
        (config({"worker": [2222]}, {"type": "worker", "index": 0}), "not a 'host:port' string"),
        (config({"worker": ["127.0.0.1:http"]}, {"type": "worker", "index": 0}), r"port is not an integer in \[1, 65535\]"),
        (config({"worker": ["127.0.0.1:70000"]}, {"type": "worker", "index": 0}), r"port is not an integer in \[1, 65535\]"),
        (config({"worker": [":2222"]}, {"type": "worker", "index": 0}), r"port is not an integer"),
        (config({"worker": ["a:1", "a:1"]}, {"type": "worker", "index": 0}), "appears twice"),
        (config({"chief": ["a:1", "a:2"], "worker": ["a:3"]}, {"type": "chief", "index": 0}), "at most one 'chief'"),
        (json.dumps({"cluster": TWO}), "'task' must be an object"),
        (config(TWO, {"type": "chief", "index": 0}), "task type 'chief' is not a job of 'cluster'"),
        (config(TWO, {"type": "worker", "index": 2}), r"task index 2 is not in \[0, 2\)"),
        (config(TWO, {"type": "worker", "index": -1}), r"task index -1 is not in \[0, 2\)"),
        (config(TWO, {"type": "worker", "index": "0"}), r"task index '0' is not in"),
        (config(TWO, {"type": "worker", "index": True}), r"task index True is not in"),
        (config(TWO, {"type": "worker"}), r"task index None is not in"),
    ],
)
def test_malformed_tf_config_is_refused_with_what_is_wrong(raw, match):
    with pytest.raises(ValueError, match=match) as info:
        parse_tf_config(raw)
    assert "Environment variable `TF_CONFIG` is malformed" in str(info.value)
    assert "Received: TF_CONFIG=" in str(info.value)


def test_tf_config_must_be_a_string():
    with pytest.raises(TypeError, match="`TF_CONFIG` must be a JSON string. Received: TF_CONFIG=None"):
        parse_tf_config(None)


def test_a_long_value_is_shortened_in_the_message():
    raw = config({"worker": [f"127.0.0.1:{2000 + i}" for i in range(100)]}, {"type": "worker", "index": 100})
    with pytest.raises(ValueError, match=r"task index 100 .*\.\.\.'$"):
        parse_tf_config(raw)


@given(
    jobs=st.sets(st.sampled_from(["chief", "worker", "evaluator"]), min_size=1),
    sizes=st.lists(st.integers(1, 4), min_size=3, max_size=3),
    pick=st.integers(0, 100),
)
def test_every_valid_config_parses_and_names_its_task(jobs, sizes, pick):
    port = iter(range(2000, 3000))
    cluster = {job: [f"127.0.0.1:{next(port)}" for _ in range(1 if job == "chief" else size)] for job, size in zip(sorted(jobs), sizes)}
    job = sorted(cluster)[pick % len(cluster)]
    index = pick % len(cluster[job])
    parsed = parse_tf_config(config(cluster, {"type": job, "index": index}))
    assert parsed["cluster"] == cluster and parsed["task"] == {"type": job, "index": index}


@given(st.text(max_size=80) | st.recursive(st.none() | st.integers() | st.text(max_size=5), lambda c: st.lists(c) | st.dictionaries(st.text(max_size=8), c), max_leaves=8).map(json.dumps))
def test_any_other_value_gets_a_value_error_never_another_exception(raw):
    try:
        parse_tf_config(raw)
    except ValueError as err:
        assert "TF_CONFIG" in str(err)


def test_tf_config_helper_round_trips():
    raw = tf_config(["127.0.0.1:1", "127.0.0.1:2", "127.0.0.1:3"], 2)
    assert parse_tf_config(raw)["task"] == {"type": "worker", "index": 2}


def test_multi_worker_strategy_checks_tf_config_before_starting_anything(monkeypatch):
    monkeypatch.setenv("TF_CONFIG", config(TWO, {"type": "worker", "index": 5}))
    with pytest.raises(ValueError, match=r"task index 5 is not in \[0, 2\)"):
        kt.distribute.multi_worker_strategy()


@pytest.mark.parametrize("name", ["startup_timeout", "collective_timeout"])
@pytest.mark.parametrize("value", [0, -1.0, float("nan"), float("inf"), "10", True])
def test_timeouts_must_be_positive_seconds_or_none(name, value):
    with pytest.raises(ValueError, match=rf"Argument `{name}` must be a positive number of seconds or None. Received: {name}="):
        kt.distribute.multi_worker_strategy(**{name: value})


def test_communication_options_must_be_communication_options():
    with pytest.raises(TypeError, match="Argument `communication_options` must be a `tf.distribute.experimental.CommunicationOptions`"):
        kt.distribute.multi_worker_strategy(communication_options={"timeout_seconds": 5})


def test_the_collective_timeout_fills_only_an_unset_timeout(monkeypatch):
    # What reaches MultiWorkerMirroredStrategy, seen without creating it.
    seen = {}

    def fake(cluster_resolver=None, communication_options=None):
        seen["options"] = communication_options
        raise RuntimeError("stop here")

    monkeypatch.delenv("TF_CONFIG", raising=False)
    monkeypatch.setattr(tf.distribute, "MultiWorkerMirroredStrategy", fake)
    ring = tf.distribute.experimental.CommunicationImplementation.RING
    cases = [
        (None, 7.0, 7.0, tf.distribute.experimental.CommunicationImplementation.AUTO),
        (tf.distribute.experimental.CommunicationOptions(implementation=ring), 7.0, 7.0, ring),
        (tf.distribute.experimental.CommunicationOptions(timeout_seconds=3, implementation=ring), 7.0, 3, ring),
        (None, None, None, tf.distribute.experimental.CommunicationImplementation.AUTO),
    ]
    for options, timeout, want_timeout, want_implementation in cases:
        with pytest.raises(RuntimeError, match="stop here"):
            kt.distribute.multi_worker_strategy(communication_options=options, collective_timeout=timeout)
        assert seen["options"].timeout_seconds == want_timeout
        assert seen["options"].implementation == want_implementation

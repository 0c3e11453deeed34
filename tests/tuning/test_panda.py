"""Panda: sessions continue exactly from the checkpoint, with changed hyperparameters and the whole history."""

import json
import os

import keras
import numpy as np
import pytest

import kerastools as kt
from kerastools import tuning

FIT = {"batch_size": 16, "shuffle": False, "verbose": 0}


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 5)).astype("float32")
    return x, (x.sum(axis=1) > 0).astype("int64")


def build(optimizer=None):
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [keras.Input((5,)), keras.layers.Dense(8, activation="relu"), kt.layers.Dropout(rate=0.2, seed=1), keras.layers.Dense(2), kt.layers.Softmax()]
    )
    model.compile(optimizer=optimizer or kt.Adam(0.01), loss=keras.losses.SparseCategoricalCrossentropy(), metrics=["accuracy"])
    return model


def assert_same_weights(a, b):
    for u, v in zip(a.weights, b.weights):
        np.testing.assert_array_equal(u.numpy(), v.numpy(), err_msg=u.path)


@pytest.mark.slow
def test_second_session_continues_with_a_new_learning_rate(data, tmp_path):
    x, y = data
    tuning.Panda(tmp_path, build).train(x, y, epochs=2, note="day 1", **FIT)
    panda = tuning.Panda(tmp_path)  # another day: a new object on the same directory
    panda.train(x, y, epochs=2, learning_rate=0.001, validation_data=(x, y), **FIT)

    # One uninterrupted run in memory, the learning rate changed after two epochs.
    reference = build()
    reference.fit(x, y, epochs=2, **FIT)
    reference.optimizer.learning_rate = 0.001
    reference.fit(x, y, epochs=4, initial_epoch=2, **FIT)
    assert_same_weights(panda.model, reference)
    assert int(panda.model.optimizer.iterations.numpy()) == 16

    history = panda.history
    assert [(e["session"], e["epoch"]) for e in history] == [(1, 1), (1, 2), (2, 3), (2, 4)]
    np.testing.assert_allclose([e["learning_rate"] for e in history], [0.01, 0.01, 0.001, 0.001], rtol=1e-6)
    assert "val_loss" in history[-1] and "val_loss" not in history[0] and "loss" in history[0]
    first, second = panda.sessions
    assert first["note"] == "day 1" and first["status"] == "completed" and first["start_checkpoint"] is None
    assert second["changes"] == {"learning_rate": 0.001} and second["initial_epoch"] == 2
    assert second["start_checkpoint"] == first["checkpoint"] == os.path.join("checkpoints", "session001-epoch0002.h5")
    assert second["optimizer"]["class_name"] == "Adam" and second["optimizer"]["learning_rate"] == pytest.approx(0.001)
    assert sorted(os.listdir(tmp_path / "checkpoints")) == ["session001-epoch0002.h5", "session002-epoch0004.h5"]
    with open(tmp_path / "history.json") as handle:
        assert json.load(handle)["head"] == {"session": 2, "epoch": 4, "checkpoint": os.path.join("checkpoints", "session002-epoch0004.h5")}


@pytest.mark.slow
def test_other_hyperparameters_keep_the_optimizer_state(data, tmp_path):
    x, y = data
    tuning.Panda(tmp_path, build).train(x, y, epochs=1, **FIT)
    panda = tuning.Panda(tmp_path)
    panda.train(x, y, epochs=1, hyperparameters={"beta_1": 0.8}, **FIT)
    reference = build()
    reference.fit(x, y, epochs=1, **FIT)
    # The same change made by hand on the in-memory model: slots and step count kept.
    reference.optimizer.beta_1 = 0.8
    reference.make_train_function(force=True)
    reference.fit(x, y, epochs=2, initial_epoch=1, **FIT)
    assert_same_weights(panda.model, reference)
    assert panda.sessions[1]["optimizer"]["beta_1"] == 0.8 and panda.sessions[1]["fresh_optimizer_state"] == []


@pytest.mark.slow
def test_adding_momentum_starts_its_velocity_at_zero(data, tmp_path):
    x, y = data
    tuning.Panda(tmp_path, lambda: build(kt.SGD(0.1))).train(x, y, epochs=1, **FIT)
    panda = tuning.Panda(tmp_path)
    panda.train(x, y, epochs=1, hyperparameters={"momentum": 0.9}, **FIT)
    assert panda.model.optimizer.momentum == 0.9
    assert len(panda.sessions[1]["fresh_optimizer_state"]) == 4  # one velocity per weight
    # By hand in memory: a new SGD with momentum, the step count carried over, velocities at zero.
    reference = build(kt.SGD(0.1))
    reference.fit(x, y, epochs=1, **FIT)
    steps = int(reference.optimizer.iterations.numpy())
    reference.compile(optimizer=kt.SGD(0.1, momentum=0.9), loss=keras.losses.SparseCategoricalCrossentropy(), metrics=["accuracy"])
    reference.optimizer.build(reference.trainable_variables)
    reference.optimizer.iterations.assign(steps)
    reference.fit(x, y, epochs=2, initial_epoch=1, **FIT)
    assert_same_weights(panda.model, reference)


@pytest.mark.slow
def test_new_optimizer_and_rollback(data, tmp_path):
    x, y = data
    panda = tuning.Panda(tmp_path, build)
    panda.train(x, y, epochs=1, **FIT)
    panda.train(x, y, epochs=1, optimizer=kt.Momentum(0.05, beta=0.9), note="try momentum", **FIT)
    assert isinstance(panda.model.optimizer, kt.Momentum) and panda.sessions[1]["new_optimizer"]
    assert int(panda.model.optimizer.iterations.numpy()) == 4  # a new optimizer counts from zero
    panda.rollback(1)  # it got worse: back to the end of session 1
    panda.train(x, y, epochs=1, **FIT)
    assert isinstance(panda.model.optimizer, kt.Adam)
    assert panda.sessions[-1]["start_checkpoint"] == panda.sessions[0]["checkpoint"]
    assert panda.sessions[2] == {"session": None, "event": "rollback", "to_session": 1, "time": panda.sessions[2]["time"]}
    assert [e["epoch"] for e in panda.history] == [1, 2, 2]
    reference = build()
    reference.fit(x, y, epochs=2, **FIT)
    assert_same_weights(panda.model, reference)


@pytest.mark.slow
def test_interrupted_session_resumes_from_its_last_epoch(data, tmp_path):
    x, y = data

    class Crash(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 1:
                raise KeyboardInterrupt  # the machine went down after epoch 2

    with pytest.raises(KeyboardInterrupt):
        tuning.Panda(tmp_path, build).train(x, y, epochs=4, callbacks=[Crash()], **FIT)
    panda = tuning.Panda(tmp_path)
    assert panda.head["epoch"] == 2 and panda.sessions[0]["status"] == "running"
    panda.train(x, y, epochs=2, **FIT)
    assert panda.sessions[0]["status"] == "interrupted" and panda.sessions[1]["initial_epoch"] == 2
    reference = build()
    reference.fit(x, y, epochs=4, **FIT)
    assert_same_weights(panda.model, reference)


@pytest.mark.parametrize(
    "call, error, match",
    [
        (lambda p, x, y: p.train(x, y, epochs=0), ValueError, r"`epochs` must be an integer >= 1. Received: epochs=0"),
        (lambda p, x, y: p.train(x, y, hyperparameters={"beta_3": 0.5}), ValueError, r"Unknown hyperparameter\(s\) \['beta_3'\] for Adam; its hyperparameters are \[.*'beta_1'"),
        (lambda p, x, y: p.train(x, y, learning_rate=0.1, optimizer=kt.SGD()), ValueError, r"Pass either `optimizer` or `learning_rate`/`hyperparameters`, not both"),
        (lambda p, x, y: p.train(x, y, optimizer="sgd"), TypeError, r"`optimizer` must be a keras.optimizers.Optimizer. Received: optimizer='sgd'"),
        (lambda p, x, y: p.train(x, y, hyperparameters=[("beta_1", 0.5)]), TypeError, r"`hyperparameters` must be a dict"),
        (lambda p, x, y: p.train(x, y, initial_epoch=3), ValueError, r"`initial_epoch` is set by the panda"),
        (lambda p, x, y: p.rollback(5), ValueError, r"`session` must be a session with a checkpoint, one of \[\]. Received: session=5"),
    ],
)
def test_bad_input(data, tmp_path, call, error, match):
    x, y = data
    with pytest.raises(error, match=match):
        call(tuning.Panda(tmp_path, build), x, y)


def test_bad_construction(tmp_path):
    with pytest.raises(ValueError, match=r"No checkpoint in .* yet: pass `build_fn` for the first session"):
        tuning.Panda(tmp_path).train(np.zeros((2, 5)), np.zeros(2))
    with pytest.raises(TypeError, match=r"`build_fn` must return a compiled keras.Model"):
        tuning.Panda(tmp_path / "b", lambda: keras.Sequential([keras.Input((5,)), keras.layers.Dense(1)])).train(np.zeros((2, 5)), np.zeros(2))
    with pytest.raises(TypeError, match=r"`build_fn` must be a function returning a compiled model, or None. Received: build_fn=3"):
        tuning.Panda(tmp_path, 3)
    (tmp_path / "file").write_text("x")
    with pytest.raises(ValueError, match=r"`directory` is a file, not a directory"):
        tuning.Panda(tmp_path / "file")

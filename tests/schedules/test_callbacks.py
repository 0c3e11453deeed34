"""ReduceLROnPlateau with constant rates and schedules, saving the factor, and
LearningRateLogger (History and TensorBoard)."""

import glob

import keras
import numpy as np
import pytest
import tensorflow as tf

from kerastools import callbacks
from kerastools import schedules as S
from kerastools.schedules._callbacks import _learning_rate_object
from tests.conformance import save_and_load

# A monitored value that improves, stalls, improves a little (< min_delta), stalls...
VAL_LOSSES = [1.0, 0.9, 0.95, 0.96, 0.89995, 0.97, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0]


def _model(learning_rate):
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate), loss=keras.losses.MeanSquaredError())
    return model


def _replay(callback, model, losses=VAL_LOSSES, monitor="val_loss"):
    """Feed scripted epoch logs to a callback; the learning rate after each epoch."""
    callback.set_model(model)
    callback.on_train_begin()
    rates = []
    for epoch, value in enumerate(losses):
        callback.on_epoch_end(epoch, {monitor: value})
        rates.append(float(model.optimizer.learning_rate))
    return rates


KWARGS = dict(factor=0.5, patience=2, cooldown=1, min_delta=1e-3)


def test_constant_rate_follows_keras():
    keras_rates = _replay(keras.callbacks.ReduceLROnPlateau(min_lr=0.02, **KWARGS), _model(0.1))
    ours = _replay(callbacks.ReduceLROnPlateau(min_lr=0.02, **KWARGS), _model(0.1))
    np.testing.assert_allclose(ours, keras_rates, rtol=1e-7)
    assert min(ours) == pytest.approx(0.02) and ours[0] == pytest.approx(0.1)


def test_schedule_scale_follows_keras_reductions():
    """On a constant base schedule the scaled rate must reduce exactly where and
    by how much Keras reduces a constant rate."""
    keras_rates = _replay(keras.callbacks.ReduceLROnPlateau(**KWARGS), _model(0.1))
    schedule = S.ScaledSchedule(S.PiecewiseConstantDecay([10**6], [0.1, 0.1]))
    ours = _replay(callbacks.ReduceLROnPlateau(**KWARGS), _model(schedule))
    np.testing.assert_allclose(ours, keras_rates, rtol=1e-6)
    assert schedule.scale == pytest.approx(keras_rates[-1] / 0.1)


def test_mode_max_and_auto_for_accuracy():
    rising = [0.5, 0.6, 0.6, 0.6, 0.6]
    for mode in ("max", "auto"):
        model = _model(S.ScaledSchedule(S.ExponentialDecay(0.1, 10, 1.0)))
        rates = _replay(callbacks.ReduceLROnPlateau(monitor="val_accuracy", mode=mode, patience=2), model, rising, "val_accuracy")
        np.testing.assert_allclose(rates, [0.1, 0.1, 0.1, 0.01, 0.01], rtol=1e-6)


def test_min_lr_bounds_the_current_scaled_rate():
    schedule = S.ScaledSchedule(S.PiecewiseConstantDecay([10**6], [0.1, 0.1]))
    rates = _replay(callbacks.ReduceLROnPlateau(factor=0.1, patience=0, min_lr=0.004), _model(schedule), [1.0] * 5)
    np.testing.assert_allclose(rates, [0.1, 0.01, 0.004, 0.004, 0.004], rtol=1e-6)
    assert schedule.scale == pytest.approx(0.04)


def test_explicit_nested_scaled_schedule():
    scaled = S.ScaledSchedule(S.PiecewiseConstantDecay([10**6], [0.1, 0.1]))
    model = _model(S.Warmup(scaled, 1, initial_learning_rate=0.1))
    _replay(callbacks.ReduceLROnPlateau(patience=0, schedule=scaled), model, [1.0, 1.0])
    assert scaled.scale == pytest.approx(0.1)


def test_unwrapped_schedule_fails_before_training():
    model = _model(S.ExponentialDecay(0.1, 10, 0.5))
    x, y = np.zeros((4, 3), "float32"), np.zeros((4, 1), "float32")
    with pytest.raises(TypeError, match=r"ReduceLROnPlateau cannot lower the learning rate ExponentialDecay\(.*\): it is a schedule. Wrap it"):
        model.fit(x, y, epochs=1, verbose=0, callbacks=[callbacks.ReduceLROnPlateau(monitor="loss")])


def test_missing_monitor_warns():
    callback = callbacks.ReduceLROnPlateau(monitor="val_nothing")
    callback.set_model(_model(0.1))
    with pytest.warns(UserWarning, match="ReduceLROnPlateau monitors `val_nothing`, which is not in the logs"):
        callback.on_epoch_end(0, {"loss": 1.0})


def test_optimizer_keeps_the_schedule_object_where_we_look():
    """Keras has no public accessor for an optimizer's schedule object; pin the
    private attribute `ReduceLROnPlateau` reads."""
    schedule = S.ScaledSchedule(S.CosineDecay(0.1, 10))
    for optimizer in (
        keras.optimizers.SGD(schedule),
        keras.optimizers.Adam(schedule),
        keras.optimizers.LossScaleOptimizer(keras.optimizers.SGD(schedule)),
    ):
        assert _learning_rate_object(optimizer) is schedule


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A model whose scaled schedule was lowered three times by the callback during fit,
    with the learning rate logged to History and TensorBoard."""
    keras.utils.set_random_seed(0)
    schedule = S.ScaledSchedule(S.Warmup(S.CosineDecay(0.1, 100), 2))
    model = _model(schedule)
    x = np.random.rand(32, 3).astype("float32")
    y = x.sum(axis=1, keepdims=True)
    log_dir = tmp_path_factory.mktemp("logs")
    plateau = callbacks.ReduceLROnPlateau(monitor="loss", mode="max", factor=0.5, patience=1)
    logger = callbacks.LearningRateLogger(log_dir=log_dir)
    history = model.fit(x, y, batch_size=16, epochs=4, verbose=0, callbacks=[plateau, logger])
    return model, schedule, history, log_dir, x


def test_fit_lowers_the_scale_and_history_logs_each_epoch(trained):
    model, schedule, history, _, _ = trained
    assert schedule.scale == pytest.approx(0.125)  # "loss" never rises: a plateau in max mode
    inner = schedule.schedule
    # after epoch e the optimizer has taken 2 (e + 1) steps; the logger runs last
    expected = [s * float(inner(2 * (e + 1))) for e, s in enumerate([1.0, 0.5, 0.25, 0.125])]
    np.testing.assert_allclose(history.history["learning_rate"], expected, rtol=1e-6)


def test_tensorboard_receives_the_learning_rate(trained):
    _, _, history, log_dir, _ = trained
    logged = {}
    for path in glob.glob(str(log_dir / "events.out.tfevents.*")):
        for event in tf.compat.v1.train.summary_iterator(path):
            for value in event.summary.value:
                if value.tag == "learning_rate":
                    assert value.metadata.plugin_data.plugin_name == "scalars"
                    logged[event.step] = float(tf.make_ndarray(value.tensor))
    assert sorted(logged) == [0, 1, 2, 3]
    np.testing.assert_allclose([logged[e] for e in range(4)], history.history["learning_rate"], rtol=1e-7)


@pytest.mark.parametrize("suffix", [".keras", ".h5"])
def test_lowered_scale_survives_saving(trained, tmp_path, suffix):
    model, schedule, _, _, x = trained
    restored = save_and_load(model, tmp_path / f"model{suffix}")
    config = restored.optimizer.get_config()["learning_rate"]
    assert config["registered_name"] == "kerastools>ScaledSchedule"
    assert config["config"]["scale"] == pytest.approx(0.125)
    loaded = _learning_rate_object(restored.optimizer)
    assert isinstance(loaded, S.ScaledSchedule) and loaded.scale == pytest.approx(0.125)
    step = tf.constant(37, tf.int64)
    assert float(loaded(step)) == float(schedule(step))
    np.testing.assert_allclose(restored.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-6)


def test_mixed_precision_loss_scale_optimizer():
    schedule = S.ScaledSchedule(S.PiecewiseConstantDecay([10**6], [0.1, 0.1]))
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(
        optimizer=keras.optimizers.LossScaleOptimizer(keras.optimizers.SGD(schedule)),
        loss=keras.losses.MeanSquaredError(),
    )
    rates = _replay(callbacks.ReduceLROnPlateau(patience=0, factor=0.5), model, [1.0, 1.0, 1.0])
    np.testing.assert_allclose(rates, [0.1, 0.05, 0.025], rtol=1e-6)


def test_keras_callback_cannot_lower_a_schedule():
    """The reason for ScaledSchedule: Keras's own callback fails on any schedule."""
    model = _model(S.ScaledSchedule(S.CosineDecay(0.1, 10)))
    with pytest.raises(TypeError, match="LearningRateSchedule"):
        _replay(keras.callbacks.ReduceLROnPlateau(patience=0), model, [1.0, 1.0])

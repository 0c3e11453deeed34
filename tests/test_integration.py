"""kerastools components working together: plateaus, checkpoints and saving."""

import keras
import numpy as np

import kerastools as kt


def _model(optimizer):
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [keras.Input((4,)), keras.layers.Dense(8, activation="relu"), kt.layers.BatchNormalization(), keras.layers.Dense(1)]
    )
    model.compile(optimizer=optimizer, loss=keras.losses.MeanSquaredError())
    return model


def test_plateau_factor_survives_kerastools_saving(tmp_path):
    """ReduceLROnPlateau lowers a ScaledSchedule's factor; the lowered factor is
    saved with the optimizer and restored by kt.saving.load_model."""
    x = np.random.default_rng(0).normal(size=(32, 4)).astype("float32")
    y = np.zeros((32, 1), "float32")
    schedule = kt.schedules.ScaledSchedule(kt.schedules.ExponentialDecay(0.1, 10, 0.5))
    model = _model(kt.Adam(schedule))
    # A monitored value that never improves: every epoch after the first lowers the factor.
    plateau = kt.callbacks.ReduceLROnPlateau(monitor="constant", factor=0.5, patience=0, min_lr=0.0)

    class Constant(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            logs["constant"] = 1.0

    model.fit(x, y, epochs=3, verbose=0, shuffle=False, callbacks=[Constant(), plateau])
    assert schedule.scale == 0.25
    for suffix in (".h5", ".keras"):
        path = tmp_path / f"plateau{suffix}"
        kt.saving.save_model(model, path)
        loaded = kt.saving.load_model(path).optimizer
        assert loaded.get_config()["learning_rate"]["config"]["scale"] == 0.25
        assert loaded.iterations.numpy() == model.optimizer.iterations.numpy()
        # The current rate (schedule at the current step, times the factor) too.
        np.testing.assert_allclose(float(loaded.learning_rate), float(model.optimizer.learning_rate), rtol=1e-7)


def test_checkpoint_resumes_kerastools_optimizer(tmp_path):
    x = np.random.default_rng(1).normal(size=(32, 4)).astype("float32")
    y = x.sum(axis=1, keepdims=True)
    checkpoint = kt.callbacks.HDF5Checkpoint(str(tmp_path / "ckpt{epoch:02d}.h5"), monitor="loss", keep_last=1)
    model = _model(kt.RMSprop(1e-2, momentum=0.5, epsilon_placement="inside"))
    model.fit(x, y, epochs=2, shuffle=False, verbose=0, callbacks=[checkpoint])
    record = checkpoint.latest()
    assert record.epoch == 2
    resumed = kt.saving.load_model(record.path)
    assert isinstance(resumed.optimizer, kt.RMSprop)
    resumed.fit(x, y, epochs=4, initial_epoch=record.epoch, shuffle=False, verbose=0)
    model.fit(x, y, epochs=4, initial_epoch=2, shuffle=False, verbose=0)
    for a, b in zip(model.get_weights(), resumed.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)

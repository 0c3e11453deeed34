"""`kt.distribute.BackupAndRestore` in one process: exact resume, chief-only writes, bad input.

The multi-worker case (a worker SIGKILLed mid-epoch, the cluster restarted) is
`tests/distribute/test_faults.py`.
"""

import keras
import numpy as np
import pytest

import kerastools as kt
from kerastools.distribute import backup as backup_module
from tests.distribute import _models

EPOCHS = 3


class Interrupt(keras.callbacks.Callback):
    """Stops `fit` in the middle of epoch `epoch` (after its second batch), as a crash would."""

    def __init__(self, epoch):
        super().__init__()
        self.epoch, self.current = epoch, -1

    def on_epoch_begin(self, epoch, logs=None):
        self.current = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self.current == self.epoch and batch == 1:
            raise KeyboardInterrupt("simulated crash")


def train(backup_dir, interrupt_at=None):
    (x, y), _ = _models.digits()
    restore = kt.distribute.BackupAndRestore(backup_dir)
    model = _models.build_cnn("adam_dropout")
    callbacks = [restore] + ([Interrupt(interrupt_at)] if interrupt_at is not None else [])
    data = _models.train_batches(x, y, initial_epoch=restore.latest_epoch())
    history = model.fit(data, epochs=EPOCHS, verbose=0, callbacks=callbacks)
    return model, history


def test_an_interrupted_fit_resumes_to_the_uninterrupted_weights_exactly(tmp_path):
    want, want_history = train(tmp_path / "a")
    with pytest.raises(KeyboardInterrupt):
        train(tmp_path / "b", interrupt_at=1)
    assert kt.distribute.BackupAndRestore(tmp_path / "b").latest_epoch() == 1
    got, history = train(tmp_path / "b")
    # Same process, same kernels, same data order per epoch, restored seeds and
    # optimizer state: bit-identical, dropout masks included.
    for a, b in zip(got.get_weights(), want.get_weights()):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(history.history["loss"], want_history.history["loss"][1:])
    assert int(got.optimizer.iterations.numpy()) == int(want.optimizer.iterations.numpy())
    assert not (tmp_path / "b" / "backup.h5").exists()  # deleted after the completed fit


def test_the_backup_is_written_atomically_each_epoch_and_kept_on_request(tmp_path):
    (x, y), _ = _models.digits()
    restore = kt.distribute.BackupAndRestore(tmp_path, delete_backup=False)
    model = _models.build_cnn("adam")
    model.fit(_models.train_batches(x, y), epochs=2, verbose=0, callbacks=[restore])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["backup.h5"]  # no temporary file left
    assert restore.latest_epoch() == 2
    loaded = kt.saving.load_model(tmp_path / "backup.h5")
    for a, b in zip(loaded.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_only_the_chief_writes(tmp_path, monkeypatch):
    (x, y), _ = _models.digits()
    monkeypatch.setattr(backup_module, "is_chief", lambda model: False)
    model = _models.build_cnn("adam")
    model.fit(_models.train_batches(x, y), epochs=1, verbose=0, callbacks=[kt.distribute.BackupAndRestore(tmp_path / "b")])
    assert not (tmp_path / "b").exists()


def test_is_chief_without_a_strategy_and_under_the_default_one():
    model = _models.build_cnn("adam")
    assert backup_module.is_chief(model)
    assert backup_module.is_chief(object())


def test_a_backup_of_another_model_is_refused(tmp_path):
    (x, y), _ = _models.digits()
    restore = kt.distribute.BackupAndRestore(tmp_path, delete_backup=False)
    _models.build_cnn("adam").fit(_models.train_batches(x, y), epochs=1, verbose=0, callbacks=[restore])
    other = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Flatten(), keras.layers.Dense(10)])
    other.compile("sgd", "sparse_categorical_crossentropy")
    with pytest.raises(ValueError, match="holds a model with .* variables; the model being trained has"):
        other.fit(_models.train_batches(x, y), epochs=1, verbose=0, callbacks=[restore])


@pytest.mark.parametrize("backup_dir", ["", None, 3])
def test_backup_dir_must_be_a_path(backup_dir):
    with pytest.raises(ValueError, match="Argument `backup_dir` must be a non-empty path. Received: backup_dir="):
        kt.distribute.BackupAndRestore(backup_dir)


def test_backup_dir_must_not_be_a_file(tmp_path):
    path = tmp_path / "file"
    path.write_text("x")
    with pytest.raises(ValueError, match="Argument `backup_dir` is a file, not a folder"):
        kt.distribute.BackupAndRestore(path)


def test_delete_backup_must_be_a_bool(tmp_path):
    with pytest.raises((TypeError, ValueError), match="delete_backup"):
        kt.distribute.BackupAndRestore(tmp_path, delete_backup="yes")


def test_registered_and_its_config_rebuilds_it(tmp_path):
    from tests.conformance import assert_registered

    assert_registered(kt.distribute.BackupAndRestore)
    callback = kt.distribute.BackupAndRestore(tmp_path, delete_backup=False)
    assert callback.get_config() == {"backup_dir": str(tmp_path), "delete_backup": False}
    assert kt.distribute.BackupAndRestore(**callback.get_config()).get_config() == callback.get_config()

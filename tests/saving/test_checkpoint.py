"""`kerastools.callbacks.HDF5Checkpoint` and `kerastools.saving.latest_checkpoint`."""

import os

import keras
import numpy as np
import pytest

from kerastools import saving
from kerastools.callbacks import HDF5Checkpoint
from tests.saving import cases as saving_cases
from tests.conformance import assert_registered

CASE = "sgd_nesterov_momentum"

# Keras's HDF5 writer, called from inside `fit`, converts TensorFlow variables
# with `np.array(x)`, which NumPy 2 flags; the warning is Keras's, not ours.
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation doesn't accept a copy keyword:DeprecationWarning")


class SetLog(keras.callbacks.Callback):
    """Puts a chosen value into the epoch logs (runs before the checkpoint)."""

    def __init__(self, key, values):
        super().__init__()
        self.key, self.values = key, values

    def on_epoch_end(self, epoch, logs=None):
        logs[self.key] = self.values[epoch]


def fit(model, checkpoint, epochs, initial_epoch=0, scores=None):
    x, y = saving_cases.targets(CASE)
    callbacks = ([SetLog("score", scores)] if scores is not None else []) + [checkpoint]
    model.fit(x, y, batch_size=16, epochs=epochs, initial_epoch=initial_epoch, shuffle=False, verbose=0, callbacks=callbacks)
    return model


def files(directory):
    return sorted(n for n in os.listdir(directory))


def test_keep_last(tmp_path):
    checkpoint = HDF5Checkpoint(str(tmp_path / "e{epoch:02d}.h5"), keep_last=2)
    fit(saving_cases.CASES[CASE](), checkpoint, 5)
    assert files(tmp_path) == ["e04.h5", "e05.h5"]
    assert [r.epoch for r in checkpoint.checkpoints()] == [4, 5]


def test_keep_best_and_last(tmp_path):
    scores = [0.5, 0.9, 0.7, 0.95, 0.6, 0.1]
    checkpoint = HDF5Checkpoint(str(tmp_path / "e{epoch}.h5"), monitor="score", mode="max", keep_last=1, keep_best=2)
    fit(saving_cases.CASES[CASE](), checkpoint, 6, scores=scores)
    assert files(tmp_path) == ["e2.h5", "e4.h5", "e6.h5"]  # best two (0.95, 0.9) and the last
    record = saving.latest_checkpoint(tmp_path / "e{epoch}.h5")
    assert (record.epoch, record.monitor, record.value, record.mode) == (6, "score", 0.1, "max")


def test_keep_best_min_mode_auto_with_ties_keeps_the_earlier(tmp_path):
    checkpoint = HDF5Checkpoint(str(tmp_path / "e{epoch}.h5"), monitor="val_loss", keep_last=1, keep_best=True)
    assert checkpoint._mode == "min"
    x, y = saving_cases.targets(CASE)
    model = saving_cases.CASES[CASE]()
    losses = [3.0, 1.0, 1.0, 2.0]
    model.fit(x, y, epochs=4, verbose=0, shuffle=False, callbacks=[SetLog("val_loss", losses), checkpoint])
    assert files(tmp_path) == ["e2.h5", "e4.h5"]


def test_filename_with_log_fields_and_keras_format(tmp_path):
    checkpoint = HDF5Checkpoint(str(tmp_path / "e{epoch:03d}-{score:.2f}.keras"), monitor="score", mode="min", keep_last=None)
    fit(saving_cases.CASES[CASE](), checkpoint, 2, scores=[0.25, 0.125])
    assert files(tmp_path) == ["e001-0.25.keras", "e002-0.12.keras"]
    assert saving.latest_checkpoint(tmp_path).epoch == 2
    assert saving.load_model(tmp_path / "e002-0.12.keras").compiled


def test_save_every_n_epochs(tmp_path):
    checkpoint = HDF5Checkpoint(str(tmp_path / "e{epoch}.h5"), keep_last=None, save_freq=2)
    fit(saving_cases.CASES[CASE](), checkpoint, 5)
    assert files(tmp_path) == ["e2.h5", "e4.h5"]


def test_resume_from_latest_is_exact_and_keeps_the_retention(tmp_path):
    pattern = str(tmp_path / "e{epoch}.h5")
    expected = fit(saving_cases.CASES[CASE](), HDF5Checkpoint(str(tmp_path / "ref" / "e{epoch}.h5")), 5)

    first = HDF5Checkpoint(pattern, keep_last=2)
    assert first.latest() is None
    fit(saving_cases.CASES[CASE](), first, 3)  # "interrupted" after 3 epochs

    second = HDF5Checkpoint(pattern, keep_last=2)
    record = second.latest()
    assert record.epoch == 3 and record.path == os.path.join(str(tmp_path), "e3.h5")
    model = saving.load_model(record.path)
    fit(model, second, 5, initial_epoch=record.epoch)
    assert files(tmp_path) == ["e4.h5", "e5.h5", "ref"]  # e3.h5 of the first run pruned too
    for a, b in zip(saving_cases.state_arrays(model), saving_cases.state_arrays(expected)):
        np.testing.assert_array_equal(a, b)


def test_latest_checkpoint_of_empty_or_foreign_directories(tmp_path):
    assert saving.latest_checkpoint(tmp_path) is None
    model = saving_cases.CASES[CASE]()
    saving.save_model(model, tmp_path / "plain.h5")  # a model file, not a checkpoint
    (tmp_path / "junk.h5").write_text("junk")
    with pytest.warns(UserWarning, match=r"Skipping '.*junk.h5': it cannot be read as a checkpoint"):
        assert saving.latest_checkpoint(tmp_path) is None


def test_missing_monitor_warns_and_keeps_last(tmp_path):
    checkpoint = HDF5Checkpoint(str(tmp_path / "e{epoch}.h5"), monitor="val_loss", keep_best=True)
    with pytest.warns(UserWarning, match=r"`monitor`='val_loss' is not in the logs \(available: \['loss', 'mae'\]\)"):
        fit(saving_cases.CASES[CASE](), checkpoint, 2)
    assert files(tmp_path) == ["e2.h5"]


def test_missing_filename_field(tmp_path):
    checkpoint = HDF5Checkpoint(str(tmp_path / "e{epoch}-{val_acc}.h5"))
    with pytest.raises(ValueError, match=r"uses the field 'val_acc', which is not in the logs \(available: \['loss', 'mae'\]\)"):
        fit(saving_cases.CASES[CASE](), checkpoint, 1)


def test_registered_and_config():
    assert_registered(HDF5Checkpoint)
    checkpoint = HDF5Checkpoint("c/e{epoch}.h5", monitor="val_acc", keep_last=3, keep_best=2, save_freq=2)
    assert HDF5Checkpoint(**checkpoint.get_config()).get_config() == checkpoint.get_config()
    assert checkpoint._mode == "max"


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"filepath": "c/e.h5"}, ValueError, r"must contain an '\{epoch\}' field.*Received: filepath='c/e.h5'"),
        ({"filepath": "c/e{epoch}.txt"}, ValueError, r"must end with '.h5', '.hdf5' or '.keras'"),
        ({"mode": "best"}, ValueError, r"Argument `mode` must be one of 'auto', 'min', 'max'. Received: mode='best'"),
        ({"monitor": ""}, TypeError, r"Argument `monitor` must be a non-empty string"),
        ({"keep_last": 0}, ValueError, r"Argument `keep_last` must be an integer >= 1. Received: keep_last=0"),
        ({"keep_best": -1}, ValueError, r"Argument `keep_best` must be an integer >= 0. Received: keep_best=-1"),
        ({"save_freq": "batch"}, ValueError, r"Argument `save_freq` must be 'epoch' or an integer >= 1 \(epochs\). Received: save_freq='batch'"),
        ({"save_freq": 0}, ValueError, r"Received: save_freq=0"),
        ({"monitor": "gradient_norm", "keep_best": 1}, ValueError, r"Cannot tell whether `monitor`='gradient_norm' should be minimised or maximised"),
    ],
)
def test_argument_errors(kwargs, error, message):
    kwargs = {"filepath": "c/e{epoch}.h5", **kwargs}
    with pytest.raises(error, match=message):
        HDF5Checkpoint(**kwargs)


def test_unresolvable_monitor_is_fine_without_best_tracking():
    assert HDF5Checkpoint("c/e{epoch}.h5", monitor="gradient_norm")._mode is None

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


# --- Ownership: a series deletes only files it wrote. The properties
# over random directories are in test_checkpoint_properties.py; these are the
# issue's reproductions through `fit`, and the errors.


def snapshot(directory):
    out = {}
    for name in sorted(os.listdir(directory)):
        path = os.path.join(directory, name)
        with open(path, "rb") as handle:
            out[name] = (handle.read(), os.stat(path).st_mtime_ns)
    return out


def test_second_series_and_user_copies_survive_pruning(tmp_path):
    fit(saving_cases.CASES[CASE](), HDF5Checkpoint(str(tmp_path / "m{epoch}_ft.h5"), keep_last=None), 2)
    first = HDF5Checkpoint(str(tmp_path / "e{epoch:02d}.h5"), keep_last=1)
    fit(saving_cases.CASES[CASE](), first, 1)
    (tmp_path / "e01_keep.h5").write_bytes((tmp_path / "e01.h5").read_bytes())
    (tmp_path / "e1.h5").write_bytes((tmp_path / "e01.h5").read_bytes())
    before = {n: v for n, v in snapshot(tmp_path).items() if n != "e01.h5"}
    other = HDF5Checkpoint(str(tmp_path / "m{epoch}.h5"), keep_last=1)
    fit(saving_cases.CASES[CASE](), other, 3)
    after = snapshot(tmp_path)
    assert {n: after[n] for n in before} == before
    assert sorted(after) == ["e01.h5", "e01_keep.h5", "e1.h5", "m1_ft.h5", "m2_ft.h5", "m3.h5"]


def test_fresh_run_in_a_used_directory_is_refused_before_training(tmp_path):
    fit(saving_cases.CASES[CASE](), HDF5Checkpoint(str(tmp_path / "e{epoch:02d}.h5"), keep_last=2), 8)
    before = snapshot(tmp_path)
    model = saving_cases.CASES[CASE]()
    with pytest.raises(FileExistsError, match=rf"the directory {str(tmp_path)!r} holds 2 file\(s\) named by `filepath`=.* 'e07.h5', 'e08.h5'\..*existing='keep'"):
        fit(model, HDF5Checkpoint(str(tmp_path / "e{epoch:02d}.h5")), 3)
    assert int(model.optimizer.iterations.numpy()) == 0  # not one batch trained
    assert snapshot(tmp_path) == before


def test_existing_keep_writes_a_new_series_beside_the_old_one(tmp_path):
    pattern = str(tmp_path / "e{epoch:02d}.h5")
    fit(saving_cases.CASES[CASE](), HDF5Checkpoint(pattern, keep_last=2), 8)
    before = snapshot(tmp_path)
    checkpoint = HDF5Checkpoint(pattern, keep_last=1, existing="keep")
    fit(saving_cases.CASES[CASE](), checkpoint, 3)
    after = snapshot(tmp_path)
    assert {n: after[n] for n in before} == before and sorted(after) == ["e03.h5", "e07.h5", "e08.h5"]
    assert checkpoint.latest().path == pattern.format(epoch=3) and [r.epoch for r in checkpoint.checkpoints()] == [3]
    assert saving.latest_checkpoint(pattern).epoch == 8  # of any series: the highest epoch
    with pytest.raises(FileExistsError, match=r"this run would write 'e03.h5', 'e07.h5', 'e08.h5' in .* it never overwrites them"):
        fit(saving_cases.CASES[CASE](), HDF5Checkpoint(pattern, existing="keep"), 9)
    assert snapshot(tmp_path) == after


@pytest.mark.filterwarnings("ignore:Skipping .*e1-0.50.h5.*cannot be read as a checkpoint")
def test_name_taken_at_write_time_is_never_overwritten(tmp_path):
    (tmp_path / "e1-0.50.h5").write_bytes(b"someone else's file")
    checkpoint = HDF5Checkpoint(str(tmp_path / "e{epoch}-{score:.2f}.h5"), monitor="score", mode="max", existing="keep")
    with pytest.raises(FileExistsError, match=r"'.*e1-0.50.h5' exists and was not written by this series; it is never overwritten"):
        fit(saving_cases.CASES[CASE](), checkpoint, 2, scores=[0.5, 0.25])
    assert (tmp_path / "e1-0.50.h5").read_bytes() == b"someone else's file"


def test_resume_with_another_monitor_keeps_the_best_of_each(tmp_path):
    pattern = str(tmp_path / "e{epoch}.h5")
    first = HDF5Checkpoint(pattern, monitor="score", mode="max", keep_last=1, keep_best=1)
    fit(saving_cases.CASES[CASE](), first, 2, scores=[0.9, 0.1])
    record = first.latest()
    second = HDF5Checkpoint(pattern, monitor="score", mode="min", keep_last=1, keep_best=1)
    fit(saving.load_model(record.path), second, 4, initial_epoch=record.epoch, scores=[None, None, 0.5, 2.0])
    # e1: best of the first run (max); e3: best of the second (min), never ranked
    # against 0.1 of the other direction; e4: the last.
    assert files(tmp_path) == ["e1.h5", "e3.h5", "e4.h5"]


@pytest.mark.filterwarnings("ignore:HDF5Checkpoint could not delete")  # e2.h5's, after the one matched below
def test_failed_deletion_warns_and_training_goes_on(tmp_path, monkeypatch):
    remove = os.remove

    def refuse(path, *args, **kwargs):
        # Only the checkpoints: kerastools's hidden temporary files may go.
        if os.path.dirname(os.fspath(path)) == str(tmp_path) and not os.path.basename(path).startswith("."):
            raise PermissionError(1, "Operation not permitted", path)
        return remove(path, *args, **kwargs)

    monkeypatch.setattr(os, "remove", refuse)
    checkpoint = HDF5Checkpoint(str(tmp_path / "e{epoch}.h5"), keep_last=1)
    with pytest.warns(UserWarning, match=r"could not delete the obsolete checkpoint '.*e1.h5' \(.*Operation not permitted.*\); the file stays and training goes on"):
        model = fit(saving_cases.CASES[CASE](), checkpoint, 3)
    assert files(tmp_path) == ["e1.h5", "e2.h5", "e3.h5"] and int(model.optimizer.iterations.numpy()) == 9
    monkeypatch.setattr(os, "remove", remove)
    resumed = HDF5Checkpoint(str(tmp_path / "e{epoch}.h5"), keep_last=1)  # the next run tries again
    fit(saving.load_model(checkpoint.latest().path), resumed, 4, initial_epoch=3)
    assert files(tmp_path) == ["e4.h5"]


@pytest.mark.parametrize("how", ["model", "link"])
def test_file_replaced_after_writing_is_not_deleted(tmp_path, how):
    path = str(tmp_path / "e1.h5")
    moved = str(tmp_path / "elsewhere.h5")

    class Replace(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch != 0:
                return
            if how == "model":  # the user's own file now, under the name e1.h5
                saving.save_model(self.model, path)
            else:  # the checkpoint moved elsewhere, a link in its place
                os.replace(path, moved)
                os.symlink(moved, path)

    x, y = saving_cases.targets(CASE)
    checkpoint = HDF5Checkpoint(str(tmp_path / "e{epoch}.h5"), keep_last=1)
    with pytest.warns(UserWarning, match=r"not deleting '.*e1.h5': it is no longer the checkpoint this series wrote"):
        saving_cases.CASES[CASE]().fit(x, y, epochs=2, shuffle=False, verbose=0, callbacks=[checkpoint, Replace()])
    assert sorted(n for n in files(tmp_path) if n != "elsewhere.h5") == ["e1.h5", "e2.h5"]
    assert os.path.islink(path) == (how == "link") and checkpoint.latest().epoch == 2
    assert [r.epoch for r in checkpoint.checkpoints()] == [2]


def test_another_model_at_the_same_epoch_does_not_continue_the_series(tmp_path):
    pattern = str(tmp_path / "e{epoch}.h5")
    fit(saving_cases.CASES[CASE](), HDF5Checkpoint(pattern), 2)
    other = saving_cases.CASES[CASE]()
    other.optimizer.iterations.assign(6)  # same epoch and step count, other weights
    with pytest.raises(FileExistsError, match=r"holds 1 file\(s\).*'e2.h5'"):
        fit(other, HDF5Checkpoint(pattern), 4, initial_epoch=2)


def test_series_argument_continues_after_recompiling(tmp_path):
    pattern = str(tmp_path / "e{epoch}.h5")
    fit(saving_cases.CASES[CASE](), HDF5Checkpoint(pattern, keep_last=2), 3)
    record = saving.latest_checkpoint(pattern)
    model = saving.load_model(record.path)
    model.compile(optimizer=keras.optimizers.SGD(0.01), loss="mse")  # a fresh optimizer: step count 0
    checkpoint = HDF5Checkpoint(pattern, keep_last=2, series=record.series)
    fit(model, checkpoint, 5, initial_epoch=record.epoch)
    assert files(tmp_path) == ["e4.h5", "e5.h5"] and {r.series for r in checkpoint.checkpoints()} == {record.series}
    assert [r.sequence for r in checkpoint.checkpoints()] == [4, 5]


def test_latest_checkpoint_counts_only_files_that_are_what_their_names_say(tmp_path):
    pattern = str(tmp_path / "e{epoch:02d}.h5")
    fit(saving_cases.CASES[CASE](), HDF5Checkpoint(pattern, keep_last=1), 2)
    for copy in ("e09.h5", "e9.h5", "e09_keep.h5", "e009.h5"):  # copies of e02.h5 under other names
        (tmp_path / copy).write_bytes((tmp_path / "e02.h5").read_bytes())
    assert saving.latest_checkpoint(pattern).path == pattern.format(epoch=2)
    assert saving.latest_checkpoint(tmp_path).path == os.path.join(str(tmp_path), "e02.h5")
    assert [r.epoch for r in HDF5Checkpoint(pattern).checkpoints()] == [2]


def test_relative_pattern_gives_relative_paths(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    checkpoint = HDF5Checkpoint(os.path.join("run", "e{epoch}.h5"), keep_last=1)
    fit(saving_cases.CASES[CASE](), checkpoint, 2)
    assert checkpoint.latest().path == os.path.join("run", "e2.h5") and files(tmp_path / "run") == ["e2.h5"]


@pytest.mark.parametrize(
    "filepath, message",
    [
        ("c{epoch}/e.h5", r"has a field in a directory name"),
        ("c/e{epoch:{width}}.h5", r"nests a field in the format of \{epoch\}"),
        ("c/e{epoch}-{}.h5", r"has the field \{\}; fields must be 'epoch' or log keys"),
        ("c/e{epoch:c}.h5", r"formats file names that cannot be read back into their fields"),
        ("c/e{epoch:q}.h5", r"cannot format the field \{epoch\} with the value 12 \(Unknown format code 'q'"),
        ("c/e{epoch.real}.h5", r"has the field \{epoch.real\}"),
        ("c/e{epoch.h5", r"is not a valid str.format pattern"),
    ],
)
def test_unreadable_patterns_are_refused(filepath, message):
    with pytest.raises(ValueError, match=message) as raised:
        HDF5Checkpoint(filepath)
    assert str(raised.value).endswith(f"Received: filepath={filepath!r}")


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"existing": "overwrite"}, ValueError, r"Argument `existing` must be one of 'error', 'keep'. Received: existing='overwrite'"),
        ({"series": ""}, TypeError, r"Argument `series` must be a non-empty string or None. Received: series=''"),
        ({"series": 7}, TypeError, r"Received: series=7"),
    ],
)
def test_ownership_argument_errors(kwargs, error, message):
    with pytest.raises(error, match=message):
        HDF5Checkpoint("c/e{epoch}.h5", **kwargs)

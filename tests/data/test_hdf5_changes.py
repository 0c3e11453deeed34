"""`hdf5_dataset` when its file changes: each pass streams the file as it is at
that pass, or refuses it with an error naming the file and what changed."""

import os
import re
import shutil
import tempfile

import h5py
import numpy as np
import pytest
import tensorflow as tf
from hypothesis import given
from hypothesis import strategies as st

from kerastools import data

BATCH, CHUNK, BUFFER = 8, 5, 12
ROWS, WIDTH = 40, 3


def _arrays(rng, rows=ROWS, width=WIDTH, dtype="float32"):
    """Random rows (a new version of the file has new values); y[i] is a
    random label, x[i, 0] repeats it so a row that lost its label shows."""
    y = rng.integers(0, 10**6, rows)
    x = rng.standard_normal((rows, width)).astype(dtype) if np.dtype(dtype).kind == "f" else rng.integers(0, 100, (rows, width)).astype(dtype)
    x[:, 0] = y.astype(dtype)
    return x, y


def _write(path, how, x, y, chunks=CHUNK):
    """Write a version of the file: atomically (rename over) or in place (the
    same inode overwritten, as `cp new.h5 data.h5` does)."""
    if how == "atomic":
        data.write_hdf5(path, x=x, y=y, chunks=chunks)
    else:
        tmp = tempfile.mktemp(suffix=".h5", dir=os.path.dirname(path))
        data.write_hdf5(tmp, x=x, y=y, chunks=chunks)
        shutil.copyfile(tmp, path)
        os.remove(tmp)


def _read(path):
    with h5py.File(path, "r") as f:
        return f["x"][()], f["y"][()]


def _pass(dataset):
    batches = [tuple(t.numpy() for t in b) for b in dataset]
    return np.concatenate([b[0] for b in batches]), np.concatenate([b[1] for b in batches])


def _changed(path, what):
    return re.escape(f"The HDF5 file {str(path)!r} changed since the dataset was created: ") + what


# Each change: (name, function(path, rng) -> what the error must say or None
# when the layout is unchanged and the new contents must stream).
def _same_layout_atomic(path, rng):
    _write(path, "atomic", *_arrays(rng))


def _same_layout_in_place(path, rng):
    _write(path, "in_place", *_arrays(rng))


def _other_chunks(path, rng):
    _write(path, "atomic", *_arrays(rng), chunks=7)


def _more_rows(path, rng):
    _write(path, "atomic", *_arrays(rng, rows=ROWS + 9))
    return rf"data set 'x' had {ROWS} rows and now has {ROWS + 9}; data set 'y' had {ROWS} rows and now has {ROWS + 9}"


def _fewer_rows(path, rng):
    _write(path, "in_place", *_arrays(rng, rows=ROWS - 17))
    return rf"data set 'x' had {ROWS} rows and now has {ROWS - 17}"


def _other_dtype(path, rng):
    _write(path, "atomic", *_arrays(rng, dtype="float64"))
    return r"data set 'x' had dtype float32 and now has dtype float64"


def _integer_dtype(path, rng):
    _write(path, "in_place", *_arrays(rng, dtype="int32"))
    return r"data set 'x' had dtype float32 and now has dtype int32"


def _other_row_shape(path, rng):
    _write(path, "atomic", *_arrays(rng, width=WIDTH + 1))
    return rf"rows of 'x' had shape \({WIDTH},\) and now have shape \({WIDTH + 1},\)"


def _other_keys(path, rng):
    x, _ = _arrays(rng)
    data.write_hdf5(path, x=x, labels=np.arange(ROWS))
    return r"data set 'y' is gone"


def _not_hdf5(path, rng):
    tmp = str(path) + ".tmp"
    with open(tmp, "wb") as f:
        f.write(b"not an HDF5 file at all" * 10)
    os.replace(tmp, path)
    return r"it is no longer an HDF5 file"


def _deleted(path, rng):
    if os.path.exists(path):  # it may have been deleted by the previous change
        os.remove(path)
    return r"the file no longer exists"


CHANGES = {
    f.__name__.lstrip("_"): f
    for f in (
        _same_layout_atomic, _same_layout_in_place, _other_chunks, _more_rows, _fewer_rows,
        _other_dtype, _integer_dtype, _other_row_shape, _other_keys, _not_hdf5, _deleted,
    )
}  # fmt: skip


@given(
    changes=st.lists(st.sampled_from(sorted(CHANGES)), min_size=1, max_size=4),
    shuffle=st.booleans(),
    seed=st.integers(0, 2**16),
    drop_remainder=st.booleans(),
)
def test_each_pass_streams_the_file_as_it_is_or_refuses_it_naming_the_change(tmp_path_factory, changes, shuffle, seed, drop_remainder):
    path = str(tmp_path_factory.mktemp("streams") / "data.h5")
    rng = np.random.default_rng(seed)
    _write(path, "atomic", *_arrays(rng))
    options = dict(batch_size=BATCH, shuffle=shuffle, seed=seed, shuffle_buffer=BUFFER, drop_remainder=drop_remainder)
    dataset = data.hdf5_dataset(path, "x", "y", **options)
    steps = int(dataset.cardinality().numpy())
    passes = 0
    for change in [None, *changes]:
        what = None if change is None else CHANGES[change](path, rng)
        if what is not None:
            # tf.data delivers the generator's ValueError as InvalidArgumentError.
            with pytest.raises(tf.errors.InvalidArgumentError, match=_changed(path, what)):
                _pass(dataset)
            passes += 1
            continue
        got_x, got_y = _pass(dataset)
        x, y = _read(path)
        # Expected order: the file's order, or the order a fresh dataset on this
        # file gives for this epoch (the epoch counter counts refused passes too).
        fresh = data.hdf5_dataset(path, "x", "y", initial_epoch=passes, **options)
        with h5py.File(path, "r") as f:
            same_blocks = f["x"].chunks == (CHUNK, WIDTH)
        if not shuffle:
            n = len(got_y)
            np.testing.assert_array_equal(got_y, y[:n])
            np.testing.assert_array_equal(got_x, x[:n])
        elif same_blocks:
            want_x, want_y = _pass(fresh)
            np.testing.assert_array_equal(got_y, want_y)
            np.testing.assert_array_equal(got_x, want_x)
        # Always: this version's rows, each with its own label, each at most once
        # (all of them unless the remainder was dropped), in the promised steps.
        assert len(got_y) == (ROWS - ROWS % BATCH if drop_remainder else ROWS)
        assert -(-len(got_y) // BATCH) == steps
        rows = {int(label): row for label, row in zip(y, x)}
        assert len(set(got_y.tolist())) == len(got_y)
        for label, row in zip(got_y, got_x):
            np.testing.assert_array_equal(row, rows[int(label)])
        passes += 1


def _big_file(path, rows=1 << 12, width=1024):
    """4096 rows of 4 KiB (16 MiB, 64 batches of 64): far more than `tf.data`
    prefetches after one batch (16 batches, about 4 MiB), so a change after the
    first batch meets blocks not read yet."""
    with h5py.File(path, "w") as f:
        xs = f.create_dataset("x", (rows, width), "float32", chunks=(64, width))
        xs[...] = np.arange(rows, dtype="float32")[:, None]
    return rows


@pytest.mark.slow
def test_a_file_modified_in_place_during_a_pass_is_refused(tmp_path):
    path = str(tmp_path / "big.h5")
    _big_file(path)
    dataset = data.hdf5_dataset(path, "x", batch_size=64, shuffle=False, shuffle_buffer=64)
    iterator = iter(dataset)
    first = next(iterator).numpy()
    np.testing.assert_array_equal(first[:, 0], np.arange(64))
    with open(path, "r+b") as f:  # truncate in place: same inode, new size
        f.truncate(os.path.getsize(path) // 2)
    with pytest.raises(tf.errors.InvalidArgumentError, match=re.escape(f"The HDF5 file {path!r} was modified in place while a pass was reading it")):
        for _ in iterator:
            pass


@pytest.mark.slow
def test_a_file_replaced_atomically_during_a_pass_is_read_whole_then_the_new_one(tmp_path):
    path = str(tmp_path / "big.h5")
    rows = _big_file(path)
    dataset = data.hdf5_dataset(path, "x", batch_size=64, shuffle=False, shuffle_buffer=64)
    iterator = iter(dataset)
    labels = [next(iterator).numpy()[:, 0]]
    new = np.full((rows, 1024), -1.0, "float32")
    data.write_hdf5(path, x=new, chunks=64)  # renamed over the file being read
    labels += [b.numpy()[:, 0] for b in iterator]
    np.testing.assert_array_equal(np.concatenate(labels), np.arange(rows))  # the old version, whole
    again = np.concatenate([b.numpy()[:, 0] for b in dataset])
    np.testing.assert_array_equal(again, np.full(rows, -1.0))  # the next pass: the new version


@pytest.mark.slow
def test_a_file_deleted_during_a_pass_is_read_whole_and_refused_next_pass(tmp_path):
    path = str(tmp_path / "big.h5")
    rows = _big_file(path)
    dataset = data.hdf5_dataset(path, "x", batch_size=64, shuffle=False, shuffle_buffer=64)
    iterator = iter(dataset)
    labels = [next(iterator).numpy()[:, 0]]
    os.remove(path)
    labels += [b.numpy()[:, 0] for b in iterator]
    np.testing.assert_array_equal(np.concatenate(labels), np.arange(rows))
    with pytest.raises(tf.errors.InvalidArgumentError, match=_changed(path, "the file no longer exists")):
        _pass(dataset)

"""`kerastools.data.write_hdf5` and `hdf5_dataset`: layout, streaming order, memory, errors."""

import json
import os
import pathlib
import subprocess
import sys

import h5py
import keras
import numpy as np
import pytest

from kerastools import data

ROOT = pathlib.Path(__file__).resolve().parents[2]


def labelled(n, width=4, dtype="float32"):
    """x[i] is filled with i, y[i] = i: a row that lost its label shows."""
    y = np.arange(n)
    x = np.repeat(y[:, None], width, axis=1).astype(dtype)
    return x, y


# ----------------------------------------------------------------------------- write_hdf5


def test_write_round_trip_and_default_row_chunks(tmp_path):
    x = np.random.default_rng(0).normal(size=(5000, 100)).astype("float32")
    y = np.arange(5000)
    path = data.write_hdf5(tmp_path / "d.h5", x=x, y=y, **{"meta/scale": np.float64(2.5)})
    assert path == str(tmp_path / "d.h5")
    with h5py.File(path, "r") as f:
        np.testing.assert_array_equal(f["x"][()], x)
        np.testing.assert_array_equal(f["y"][()], y)
        assert f["meta/scale"][()] == 2.5
        assert f["x"].chunks == ((1 << 20) // 400, 100)  # about 1 MiB of whole rows
        assert f["y"].chunks == (5000,)  # capped at the number of rows
    assert os.listdir(tmp_path) == ["d.h5"]


@pytest.mark.parametrize(
    "kwargs, chunks, compression",
    [
        ({"chunks": False}, None, None),
        ({"chunks": 64}, (64, 4), None),
        ({"chunks": (10, 2)}, (10, 2), None),
        ({"compression": "gzip"}, (1000, 4), "gzip"),
        ({"compression": "lzf", "chunks": 100}, (100, 4), "lzf"),
        ({"compression": 9}, (1000, 4), "gzip"),
    ],
)
def test_write_layouts(tmp_path, kwargs, chunks, compression):
    x, _ = labelled(1000)
    data.write_hdf5(tmp_path / "d.h5", x=x, **kwargs)
    with h5py.File(tmp_path / "d.h5", "r") as f:
        assert f["x"].chunks == chunks and f["x"].compression == compression
        np.testing.assert_array_equal(f["x"][()], x)


def test_failed_write_leaves_no_partial_file(tmp_path, monkeypatch):
    x, y = labelled(100)
    data.write_hdf5(tmp_path / "d.h5", x=x)
    before = (tmp_path / "d.h5").read_bytes()
    original, calls = h5py.Group.create_dataset, []

    def fail_on_second(self, *args, **kwargs):
        calls.append(args[0])
        if len(calls) == 2:
            raise RuntimeError("disk full (injected)")
        return original(self, *args, **kwargs)

    monkeypatch.setattr(h5py.Group, "create_dataset", fail_on_second)
    with pytest.raises(RuntimeError, match="injected"):
        data.write_hdf5(tmp_path / "d.h5", x=x * 2, y=y)
    with pytest.raises(RuntimeError, match="injected"):
        calls.clear()
        data.write_hdf5(tmp_path / "new.h5", x=x, y=y)
    monkeypatch.undo()
    assert (tmp_path / "d.h5").read_bytes() == before
    assert os.listdir(tmp_path) == ["d.h5"]


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({}, ValueError, r"write_hdf5 needs at least one array"),
        ({"x": np.array([object(), 1])}, TypeError, r"Array 'x' has dtype object, which HDF5 cannot store"),
        ({"x": np.array(["a", "b"])}, TypeError, r"Array 'x' has dtype <U1.*encode strings"),
        ({"x": np.zeros(3), "chunks": 0}, ValueError, r"Argument `chunks` must be an integer >= 1. Received: chunks=0"),
        ({"x": np.zeros(3), "chunks": "rows"}, ValueError, r"Argument `chunks` must be None, a bool, .* Received: chunks='rows'"),
        ({"x": np.zeros((3, 2)), "chunks": (1,)}, ValueError, r"Argument `chunks` has 1 entries but array 'x' has 2 dimensions"),
        ({"x": np.zeros(3), "compression": "zip"}, ValueError, r"Argument `compression` must be one of 'gzip', 'lzf'. Received: compression='zip'"),
        ({"x": np.zeros(3), "compression": 10}, ValueError, r"Argument `compression` must be an integer in \[0, 9\]. Received: compression=10"),
        ({"x": np.zeros(3), "compression": "gzip", "chunks": False}, ValueError, r"Compression needs chunked storage"),
        ({"x": np.zeros(3), "overwrite": 0}, TypeError, r"Argument `overwrite` must be a bool"),
    ],
)
def test_write_errors_leave_nothing(tmp_path, kwargs, error, message):
    with pytest.raises(error, match=message):
        data.write_hdf5(tmp_path / "d.h5", **kwargs)
    assert os.listdir(tmp_path) == []


def test_write_path_errors(tmp_path):
    data.write_hdf5(tmp_path / "d.h5", x=np.zeros(3))
    with pytest.raises(FileExistsError, match=r"A file exists at `path` and `overwrite=False`. Received: path='.*d.h5'"):
        data.write_hdf5(tmp_path / "d.h5", x=np.ones(3), overwrite=False)
    (tmp_path / "plain").write_text("a file, not a directory")
    with pytest.raises(OSError, match=r"Cannot write to `path`: its directory .*plain' cannot be created"):
        data.write_hdf5(tmp_path / "plain" / "d.h5", x=np.zeros(3))
    with pytest.raises(ValueError, match=r"Argument `path` is an existing directory"):
        data.write_hdf5(tmp_path, x=np.zeros(3))
    assert sorted(os.listdir(tmp_path)) == ["d.h5", "plain"]


# ----------------------------------------------------------------------------- hdf5_dataset


def stream(dataset):
    batches = [tuple(t.numpy() for t in b) for b in dataset]
    return batches, np.concatenate([b[1] for b in batches])


@pytest.mark.parametrize(
    "n, batch_size, chunks, shuffle_buffer, shuffle, compression",
    [
        (1000, 64, 100, None, True, None),
        (1000, 64, 100, 150, True, None),
        (1001, 7, 13, 1, True, "lzf"),
        (50, 64, 8, None, True, None),
        (999, 100, False, 200, True, None),
        (1000, 64, 100, None, False, None),
        (1003, 10, 7, 30, False, "gzip"),
    ],
)
def test_every_example_once_per_epoch_with_its_label(tmp_path, n, batch_size, chunks, shuffle_buffer, shuffle, compression):
    x, y = labelled(n)
    data.write_hdf5(tmp_path / "d.h5", x=x, y=y, chunks=chunks, compression=compression)
    dataset = data.hdf5_dataset(tmp_path / "d.h5", "x", "y", batch_size, shuffle=shuffle, seed=0, shuffle_buffer=shuffle_buffer)
    assert dataset.cardinality().numpy() == -(-n // batch_size)
    for _ in range(2):
        batches, labels = stream(dataset)
        assert [len(b[1]) for b in batches[:-1]] == [batch_size] * (len(batches) - 1)
        assert len(batches) == -(-n // batch_size)
        assert sorted(labels.tolist()) == list(range(n))
        for bx, by in batches:
            np.testing.assert_array_equal(bx, np.repeat(by[:, None], 4, axis=1))
        if not shuffle:
            np.testing.assert_array_equal(labels, y)  # file order
        else:
            assert not np.array_equal(labels, y)


def test_seeded_epochs_are_reproducible_and_differ(tmp_path):
    x, y = labelled(500)
    data.write_hdf5(tmp_path / "d.h5", x=x, y=y, chunks=20)
    first = data.hdf5_dataset(tmp_path / "d.h5", "x", "y", 32, seed=4, shuffle_buffer=60)
    epochs = [stream(first)[1] for _ in range(3)]
    again = data.hdf5_dataset(tmp_path / "d.h5", "x", "y", 32, seed=4, shuffle_buffer=60)
    np.testing.assert_array_equal(stream(again)[1], epochs[0])
    assert not np.array_equal(epochs[0], epochs[1]) and not np.array_equal(epochs[1], epochs[2])
    resumed = data.hdf5_dataset(tmp_path / "d.h5", "x", "y", 32, seed=4, shuffle_buffer=60, initial_epoch=2)
    np.testing.assert_array_equal(stream(resumed)[1], epochs[2])
    # The window mixes blocks: a batch is not one contiguous run of a chunk.
    batch = stream(first)[0][0][1]
    assert np.ptp(batch) > 20


def test_inputs_only_drop_remainder_and_training(tmp_path):
    x, y = labelled(100)
    data.write_hdf5(tmp_path / "d.h5", x=x, y=(y % 2).astype("float32"))
    only_x = data.hdf5_dataset(tmp_path / "d.h5", "x", batch_size=30, shuffle=False, drop_remainder=True)
    shapes = [b.shape for b in only_x.as_numpy_iterator()]
    assert shapes == [(30, 4)] * 3 and only_x.cardinality().numpy() == 3
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    model.compile("sgd", "mse")
    history = model.fit(data.hdf5_dataset(tmp_path / "d.h5", "x", "y", 16, seed=0), epochs=2, verbose=0, shuffle=False)
    assert len(history.history["loss"]) == 2


def test_dataset_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"No file at `path`. Received: path='.*none.h5'"):
        data.hdf5_dataset(tmp_path / "none.h5", "x")
    (tmp_path / "text.h5").write_text("text")
    with pytest.raises(ValueError, match=r"is not an HDF5 file"):
        data.hdf5_dataset(tmp_path / "text.h5", "x")
    data.write_hdf5(tmp_path / "d.h5", x=np.zeros((10, 2)), y=np.zeros(9), s=np.float32(1))
    with pytest.raises(ValueError, match=r"Argument `x_key` names no data set in '.*d.h5' \(available: \['s', 'x', 'y'\]\). Received: x_key='z'"):
        data.hdf5_dataset(tmp_path / "d.h5", "z")
    with pytest.raises(ValueError, match=r"Argument `y_key` names no data set .* Received: y_key=3"):
        data.hdf5_dataset(tmp_path / "d.h5", "x", 3)
    with pytest.raises(ValueError, match=r"'x' and 'y' in '.*d.h5' have different numbers of examples: 10 and 9"):
        data.hdf5_dataset(tmp_path / "d.h5", "x", "y")
    with pytest.raises(ValueError, match=r"Data set 's' in '.*d.h5' is a scalar"):
        data.hdf5_dataset(tmp_path / "d.h5", "s")
    with h5py.File(tmp_path / "records.h5", "w") as f:
        f.create_dataset("r", data=np.zeros(4, dtype=[("a", "f4"), ("b", "i4")]))
    with pytest.raises(ValueError, match=r"Data set 'r' in '.*records.h5' has dtype .* which TensorFlow cannot hold. Received: x_key='r'"):
        data.hdf5_dataset(tmp_path / "records.h5", "r")
    for kwargs, message in [
        ({"batch_size": 0}, r"Argument `batch_size` must be an integer >= 1. Received: batch_size=0"),
        ({"shuffle_buffer": 0}, r"Argument `shuffle_buffer` must be an integer >= 1. Received: shuffle_buffer=0"),
        ({"initial_epoch": -2}, r"Argument `initial_epoch` must be an integer >= 0"),
    ]:
        with pytest.raises(ValueError, match=message):
            data.hdf5_dataset(tmp_path / "d.h5", "x", **kwargs)
    with pytest.raises(TypeError, match=r"Argument `shuffle` must be a bool"):
        data.hdf5_dataset(tmp_path / "d.h5", "x", shuffle="no")


# ----------------------------------------------------------------------------- memory


ROWS, WIDTH = 1 << 19, 256  # 512 MiB of float32 inputs
LIMIT = 150 << 20


@pytest.mark.slow
def test_streaming_a_512_mb_file_grows_memory_by_less_than_150_mb(tmp_path):
    path = tmp_path / "big.h5"
    # Written in 64 MiB slabs with write_hdf5's default layout (1 MiB row chunks),
    # so this process never holds the file either.
    with h5py.File(path, "w") as f:
        xs = f.create_dataset("x", (ROWS, WIDTH), "float32", chunks=(1024, WIDTH))
        f.create_dataset("y", data=np.arange(ROWS))
        step = 1 << 16
        for start in range(0, ROWS, step):
            labels = np.arange(start, start + step) % 1000
            xs[start : start + step] = np.broadcast_to(labels[:, None], (step, WIDTH)).astype("float32")
    assert path.stat().st_size > 3 * LIMIT
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONPATH=str(ROOT))
    done = subprocess.run([sys.executable, "-m", "tests.data._stream_worker", str(path), "1024"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["rows"] == ROWS and report["each_once"] and report["paired"]
    assert report["growth"] < LIMIT, f"resident memory grew by {report['growth'] / 2**20:.0f} MiB"

"""Sharded reading of HDF5 files and the auto-shard policies of kerastools's datasets."""

import h5py
import numpy as np
import pytest
import tensorflow as tf

import kerastools as kt
from kerastools.data._sharding import shard_rows

POLICY = tf.data.experimental.AutoShardPolicy


@pytest.fixture
def rows_file(tmp_path):
    # x[i] = i, so every batch says which rows it holds.
    n = 103
    path = tmp_path / "rows.h5"
    kt.data.write_hdf5(path, x=np.arange(n, dtype=np.float32)[:, None], y=np.arange(n), chunks=8)
    return path, n


def rows_of(dataset):
    return np.concatenate([x[:, 0] for x, _ in dataset.as_numpy_iterator()]).astype(int)


@pytest.mark.parametrize("num_shards", [1, 2, 3, 5])
def test_shards_are_disjoint_equal_ranges_covering_all_but_the_remainder(rows_file, num_shards):
    path, n = rows_file
    size = n // num_shards
    seen, steps = [], set()
    for index in range(num_shards):
        dataset = kt.data.hdf5_dataset(path, "x", "y", batch_size=4, seed=1, shard=(num_shards, index))
        rows = rows_of(dataset)
        assert sorted(rows) == list(range(index * size, (index + 1) * size))
        steps.add(int(dataset.cardinality()))
        seen.extend(rows)
    assert len(steps) == 1  # every worker runs the same number of steps
    assert sorted(seen) == list(range(num_shards * size))  # n % num_shards rows read by none


def test_a_shard_reads_only_its_rows_from_the_file(rows_file, monkeypatch):
    path, n = rows_file
    read = []
    original = h5py.Dataset.read_direct

    def spy(self, dest, source_sel=None, dest_sel=None):
        read.append((source_sel.start, source_sel.stop))
        return original(self, dest, source_sel, dest_sel)

    monkeypatch.setattr(h5py.Dataset, "read_direct", spy)
    rows_of(kt.data.hdf5_dataset(path, "x", "y", batch_size=4, seed=0, shard=(3, 1)))
    assert read, "nothing was read"
    size = n // 3
    assert all(size <= start and stop <= 2 * size for start, stop in read), read
    assert sum(stop - start for start, stop in read) == 2 * size  # x and y, each row once


def test_each_epoch_of_a_shard_is_reshuffled_from_seed_and_epoch(rows_file):
    path, _ = rows_file
    dataset = kt.data.hdf5_dataset(path, "x", "y", batch_size=4, seed=3, shard=(2, 0), shuffle_buffer=8)
    first, second = rows_of(dataset), rows_of(dataset)
    assert sorted(first) == sorted(second) and not np.array_equal(first, second)
    again = kt.data.hdf5_dataset(path, "x", "y", batch_size=4, seed=3, shard=(2, 0), shuffle_buffer=8, initial_epoch=1)
    np.testing.assert_array_equal(rows_of(again), second)


def test_an_input_context_is_a_shard():
    context = tf.distribute.InputContext(num_input_pipelines=4, input_pipeline_id=3, num_replicas_in_sync=4)
    assert shard_rows(context, 10) == (6, 2)
    assert shard_rows(None, 10) == (0, 10)


@pytest.mark.parametrize(
    "shard, error, match",
    [
        ("0/2", TypeError, r"Argument `shard` must be None, a \(num_shards, index\) pair or a tf.distribute.InputContext. Received: shard='0/2'"),
        ((2,), TypeError, "Argument `shard` must be None"),
        ((0, 0), ValueError, "num_shards"),
        ((2, 2), ValueError, "shard index"),
        ((2, -1), ValueError, "shard index"),
        ((200, 0), ValueError, r"Cannot split 103 rows into 200 non-empty shards. Received: shard=\(200, 0\)"),
    ],
)
def test_bad_shards_are_refused(rows_file, shard, error, match):
    path, _ = rows_file
    with pytest.raises(error, match=match):
        kt.data.hdf5_dataset(path, "x", "y", batch_size=4, shard=shard)


def test_auto_shard_policies(rows_file):
    path, _ = rows_file
    policy = lambda d: d.options().experimental_distribute.auto_shard_policy  # noqa: E731
    assert policy(kt.data.hdf5_dataset(path, "x", "y")) == POLICY.DATA
    assert policy(kt.data.hdf5_dataset(path, "x", "y", shard=(2, 0))) == POLICY.OFF
    assert policy(kt.data.mini_batches(np.zeros((8, 2)), np.zeros(8), 4, as_dataset=True)) == POLICY.DATA


class _TwoReplicas:
    num_replicas_in_sync = 2


def test_sharded_hdf5_dataset_checks_its_arguments(rows_file):
    path, _ = rows_file
    with pytest.raises(ValueError, match=r"`global_batch_size` must be a multiple of the 2 replicas.*Received: global_batch_size=5"):
        kt.distribute.sharded_hdf5_dataset(_TwoReplicas(), path, "x", "y", 5)
    for name in ("batch_size", "shard"):
        with pytest.raises(TypeError, match=f"Argument `{name}` is set by sharded_hdf5_dataset"):
            kt.distribute.sharded_hdf5_dataset(_TwoReplicas(), path, "x", "y", 4, **{name: 1})
    with pytest.raises(ValueError, match="Argument `x_key` names no data set"):
        kt.distribute.sharded_hdf5_dataset(_TwoReplicas(), path, "nope", "y", 4)


def test_sharded_hdf5_dataset_under_the_default_strategy_reads_everything(rows_file):
    path, n = rows_file
    dataset = kt.distribute.sharded_hdf5_dataset(tf.distribute.get_strategy(), path, "x", "y", 4, shuffle=False)
    rows = np.concatenate([x.numpy()[:, 0] for x, _ in dataset]).astype(int)
    np.testing.assert_array_equal(rows, np.arange(n))

"""Which rows a worker reads, and the auto-shard policies of kerastools's datasets.

Under a multi-worker `tf.distribute` strategy a `tf.data.Dataset` handed to
`model.fit` is *auto-sharded* by TensorFlow according to its
``experimental_distribute.auto_shard_policy``:

* ``DATA`` (set on `mini_batches(as_dataset=True)` and on an unsharded
  `hdf5_dataset`): each batch is a global batch; every worker runs the whole
  pipeline and keeps its slice of each batch. Training sees exactly the
  batches of one process, but every worker reads all the data.
* ``OFF`` (set on `hdf5_dataset(..., shard=...)`): the dataset is already this
  worker's share (a contiguous range of rows, `shard_rows`), batches are
  per-replica batches, and TensorFlow leaves it alone. Build it with
  ``strategy.distribute_datasets_from_function`` (or
  `kerastools.distribute.sharded_hdf5_dataset`).

TensorFlow's default, ``AUTO``, tries ``FILE`` first, which fails on these
pipelines (they are not read from a list of files).
"""

import tensorflow as tf

from kerastools._validation import check_int


def _options(policy):
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = policy
    return options


DATA_SHARDING = _options(tf.data.experimental.AutoShardPolicy.DATA)
NO_SHARDING = _options(tf.data.experimental.AutoShardPolicy.OFF)


def shard_rows(shard, num_rows):
    """The ``(first_row, num_rows)`` read by the shard `shard` of `num_rows` rows.

    Shard ``i`` of ``k`` reads rows ``[i * s, (i + 1) * s)`` with
    ``s = num_rows // k``: every shard reads the same number of rows (so every
    worker runs the same number of steps, as synchronous training needs); the
    last ``num_rows % k`` rows (fewer than `k`) are read by none.

    Args:
        shard: `None` (all rows), a ``(num_shards, index)`` pair, or a
            `tf.distribute.InputContext` (``num_input_pipelines``,
            ``input_pipeline_id``).
        num_rows: rows in the file.
    """
    if shard is None:
        return 0, num_rows
    if isinstance(shard, tf.distribute.InputContext):
        count, index = shard.num_input_pipelines, shard.input_pipeline_id
    elif isinstance(shard, (tuple, list)) and len(shard) == 2:
        count, index = shard
    else:
        raise TypeError(
            "Argument `shard` must be None, a (num_shards, index) pair or a tf.distribute.InputContext. "
            f"Received: shard={shard!r}"
        )
    count = check_int("num_shards", count, low=1)
    index = check_int("shard index", index, low=0, high=count - 1)
    size = num_rows // count
    if size == 0:
        raise ValueError(f"Cannot split {num_rows} rows into {count} non-empty shards. Received: shard={shard!r}")
    return index * size, size

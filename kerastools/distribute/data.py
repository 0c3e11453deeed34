"""`sharded_hdf5_dataset`: each worker streams only its share of an HDF5 file."""

from kerastools import data as _data
from kerastools._validation import check_int


def sharded_hdf5_dataset(strategy, path, x_key, y_key=None, global_batch_size=64, **kwargs):
    """An HDF5 file streamed by several workers, each reading only its share of the rows.

    Worker ``i`` of ``k`` (TensorFlow's input pipeline ``i``) runs
    `kerastools.data.hdf5_dataset` with ``shard=(k, i)``: it opens the file
    itself and reads only rows ``[i * s, (i + 1) * s)``, ``s = n // k``, in
    per-replica batches of ``global_batch_size / replicas``, so a file larger
    than one machine's memory (or disk cache) trains on several workers, and
    no worker reads what another uses. The last ``n % k`` rows (fewer than
    ``k``) are read by none. Each global step combines batch ``j`` of every
    shard; the rows within a shard are shuffled as by `hdf5_dataset` (by
    ``(seed, epoch)`` when `seed` is given).

    The file must be at the same path on every worker (a shared file system,
    or a copy per host).

    Args:
        strategy: the `tf.distribute` strategy (e.g. from `multi_worker_strategy`).
        path: the HDF5 file.
        x_key: name of the inputs data set.
        y_key: name of the targets data set, or `None`. Defaults to `None`.
        global_batch_size: examples per step over all replicas; a multiple
            of ``strategy.num_replicas_in_sync``. Defaults to `64`.
        **kwargs: passed on to `kerastools.data.hdf5_dataset` (`shuffle`,
            `seed`, `shuffle_buffer`, `drop_remainder`, `initial_epoch`).

    Returns:
        A distributed dataset for ``model.fit`` (built by
        ``strategy.distribute_datasets_from_function``).

    Example:

    On every worker of a cluster (each with its ``TF_CONFIG``); not run as a
    doctest, since it needs the other workers: `tests/distribute` runs it on
    local worker processes.

    >>> strategy = kt.distribute.multi_worker_strategy()  # doctest: +SKIP
    >>> train = kt.distribute.sharded_hdf5_dataset(strategy, "big.h5", "x", "y", 256, seed=0)  # doctest: +SKIP
    >>> model.fit(train, epochs=10)  # doctest: +SKIP
    """
    global_batch_size = check_int("global_batch_size", global_batch_size, low=1)
    replicas = strategy.num_replicas_in_sync
    if global_batch_size % replicas:
        raise ValueError(
            f"Argument `global_batch_size` must be a multiple of the {replicas} replicas, so that every "
            f"replica gets an equal share. Received: global_batch_size={global_batch_size}"
        )
    for name in ("batch_size", "shard"):
        if name in kwargs:
            raise TypeError(f"Argument `{name}` is set by sharded_hdf5_dataset; pass `global_batch_size` instead.")
    # Open and check the file here, once, so that a wrong path or key fails now.
    _data.hdf5_dataset(path, x_key, y_key, batch_size=global_batch_size // replicas, **kwargs)

    def per_worker(context):
        batch = context.get_per_replica_batch_size(global_batch_size)
        return _data.hdf5_dataset(path, x_key, y_key, batch_size=batch, shard=context, **kwargs)

    return strategy.distribute_datasets_from_function(per_worker)

"""HDF5 data sets: atomic writing, and streaming into `tf.data` from disk.

The stream reads the file in *blocks* of whole HDF5 chunks (one contiguous read
each, every chunk decompressed once), so memory holds one shuffle window, not
the file. Shuffling is two-level, as for sharded data: the order of the blocks is
a fresh permutation every epoch, and the rows of a window of
``ceil(shuffle_buffer / block)`` blocks are permuted together before being cut
into batches. Every example is delivered exactly once per epoch.
"""

import itertools
import math
import numbers
import os

import h5py
import numpy as np
import tensorflow as tf

from kerastools import _atomic
from kerastools.data import _hdf5_changes
from kerastools._validation import check_bool, check_choice, check_int, check_seed
from kerastools.data._sharding import DATA_SHARDING, NO_SHARDING, shard_rows

# Auto chunks hold about 1 MiB of rows: large enough for efficient reads and
# compression, small enough to shuffle at a fine grain.
_CHUNK_BYTES = 1 << 20
# Default shuffle window: about 32 MiB of inputs.
_WINDOW_BYTES = 32 << 20
# Rows handed from Python to tf.data at once: about 4 MiB of inputs.
_SLAB_BYTES = 4 << 20


def _row_bytes(shape, dtype):
    return max(1, int(np.prod(shape[1:], dtype=np.int64)) * np.dtype(dtype).itemsize)


def _chunks_for(array, chunks, name):
    if array.ndim == 0 or array.shape[0] == 0:
        return None  # HDF5 cannot chunk scalars or empty data sets
    if chunks is None:
        rows = max(1, min(array.shape[0], _CHUNK_BYTES // _row_bytes(array.shape, array.dtype)))
        return (rows, *array.shape[1:])
    if chunks is False or chunks is True:
        return chunks or None
    if isinstance(chunks, numbers.Integral):
        return (min(int(chunks), array.shape[0]), *array.shape[1:])
    if len(chunks) != array.ndim:
        raise ValueError(f"Argument `chunks` has {len(chunks)} entries but array {name!r} has {array.ndim} dimensions. Received: chunks={chunks!r}")
    return tuple(int(c) for c in chunks)


def _check_chunks(chunks):
    if chunks is None or isinstance(chunks, bool):
        return chunks
    if isinstance(chunks, numbers.Integral):
        return check_int("chunks", chunks, low=1)
    if isinstance(chunks, tuple) and chunks and all(isinstance(c, numbers.Integral) and c >= 1 for c in chunks):
        return chunks
    raise ValueError(f"Argument `chunks` must be None, a bool, a positive integer (rows per chunk) or a tuple of positive integers. Received: chunks={chunks!r}")


def _check_compression(compression):
    if compression is None or isinstance(compression, str):
        return compression if compression is None else check_choice("compression", compression, ("gzip", "lzf"))
    if isinstance(compression, numbers.Integral) and not isinstance(compression, bool):
        return check_int("compression", compression, low=0, high=9)
    raise ValueError(f"Argument `compression` must be None, 'gzip', 'lzf' or a gzip level 0-9. Received: compression={compression!r}")


def write_hdf5(path, *, chunks=None, compression=None, overwrite=True, **arrays):
    """Write named arrays to an HDF5 file, atomically.

    The file is written under a temporary name in the same directory and
    renamed into place when complete: a failure leaves no partial file and the
    previous file, if any, intact.

    Args:
        path: destination ``.h5`` file; missing parent directories are created.
        chunks: `None` chunks every array by rows, about 1 MiB per chunk (the
            layout `hdf5_dataset` reads fastest); an integer sets the rows per
            chunk; a tuple is the chunk shape (same for every array); `True` lets
            h5py choose; `False` stores contiguously. Defaults to `None`.
        compression: `None`, ``"gzip"``, ``"lzf"`` or a gzip level 0-9.
            Defaults to `None`.
        overwrite: whether an existing file may be replaced. Defaults to `True`.
        **arrays: name -> array (names may contain ``/`` for groups). The names
            `path`, `chunks`, `compression` and `overwrite` cannot be used.

    Returns:
        The path written, as a string.

    Example:

    >>> x_train = np.arange(12.0, dtype="float32").reshape(6, 2)
    >>> y_train = np.arange(6)
    >>> path = kt.data.write_hdf5("train.h5", x=x_train, y=y_train, compression="lzf")
    >>> os.path.basename(path)
    'train.h5'
    >>> import h5py
    >>> with h5py.File("train.h5", "r") as f:
    ...     print(sorted(f), f["x"].shape, f["x"].compression)
    ['x', 'y'] (6, 2) lzf
    """
    if not arrays:
        raise ValueError("write_hdf5 needs at least one array (passed as name=array). Received: no arrays")
    chunks = _check_chunks(chunks)
    compression = _check_compression(compression)
    check_bool("overwrite", overwrite)
    if compression is not None and chunks is False:
        raise ValueError(f"Compression needs chunked storage; drop chunks=False. Received: chunks=False, compression={compression!r}")
    prepared = {}
    for name, value in arrays.items():
        array = np.asarray(value)
        if array.dtype.kind in "OUV":
            raise TypeError(f"Array {name!r} has dtype {array.dtype}, which HDF5 cannot store here; use numbers, bools or bytes (encode strings). Received: {name} of dtype {array.dtype}")
        prepared[name] = array
    if not overwrite and os.path.exists(path):
        raise FileExistsError(f"A file exists at `path` and `overwrite=False`. Received: path={os.fspath(path)!r}")
    with _atomic.atomic_path(path, "path") as tmp:
        with h5py.File(tmp, "w") as handle:
            for name, array in prepared.items():
                layout = _chunks_for(array, chunks, name)
                handle.create_dataset(name, data=array, chunks=layout, compression=compression if layout else None)
    return os.path.abspath(os.fspath(path))


def _open_checked(path, x_key, y_key):
    path = os.path.abspath(os.fspath(path))  # iterated later, maybe from another cwd
    if not os.path.isfile(path):
        raise FileNotFoundError(f"No file at `path`. Received: path={path!r}")
    if not h5py.is_hdf5(path):
        raise ValueError(f"The file {path!r} is not an HDF5 file. Received: path={path!r}")
    specs = {}
    with h5py.File(path, "r") as handle:
        available = []
        handle.visititems(lambda n, o: available.append(n) if isinstance(o, h5py.Dataset) else None)
        for arg, key in (("x_key", x_key), ("y_key", y_key)):
            if key is None:
                continue
            if not isinstance(key, str) or key not in available:
                raise ValueError(f"Argument `{arg}` names no data set in {path!r} (available: {sorted(available)}). Received: {arg}={key!r}")
            data = handle[key]
            if data.ndim == 0:
                raise ValueError(f"Data set {key!r} in {path!r} is a scalar; it needs an examples axis. Received: {arg}={key!r}")
            try:
                tf.as_dtype(data.dtype)
            except TypeError:
                raise ValueError(f"Data set {key!r} in {path!r} has dtype {data.dtype}, which TensorFlow cannot hold. Received: {arg}={key!r}") from None
            specs[key] = (data.shape, data.dtype, data.chunks)
    if y_key is not None and specs[x_key][0][0] != specs[y_key][0][0]:
        raise ValueError(f"Data sets {x_key!r} and {y_key!r} in {path!r} have different numbers of examples: {specs[x_key][0][0]} and {specs[y_key][0][0]}.")
    return path, specs


def hdf5_dataset(path, x_key, y_key=None, batch_size=64, *, shuffle=True, seed=None, shuffle_buffer=None, drop_remainder=False, initial_epoch=0, shard=None):
    """Stream `x` (and `y`) from an HDF5 file into a `tf.data.Dataset` of batches.

    The file is never loaded whole: rows are read in chunk-aligned blocks, at
    most one shuffle window at a time (plus `tf.data` prefetching). Each pass
    over the dataset is one epoch with every example exactly once and a final
    partial batch (unless `drop_remainder`).

    Args:
        path: the HDF5 file (e.g. written by `write_hdf5`).
        x_key: name of the inputs data set.
        y_key: name of the targets data set (same number of rows), or `None`
            for a dataset of inputs only. Defaults to `None`.
        batch_size: examples per batch (>= 1). Defaults to `64`.
        shuffle: shuffle the order of the blocks, then the rows within each
            window, anew every epoch; `False` reads in file order. Defaults to `True`.
        seed: with a seed, epoch `e` is shuffled from ``(seed, e)``, so every
            epoch's order is reproducible (also after resuming with
            `initial_epoch`). Defaults to `None` (fresh every epoch).
        shuffle_buffer: rows permuted together; larger mixes better and uses
            more memory. Defaults to about 32 MiB of inputs (at least one batch).
        drop_remainder: drop the final partial batch. Defaults to `False`.
        initial_epoch: the epoch the first pass stands for. Defaults to `0`.
        shard: read only one worker's share of the rows: a ``(num_shards,
            index)`` pair or the `tf.distribute.InputContext` that
            ``strategy.distribute_datasets_from_function`` passes (see
            `kerastools.distribute.sharded_hdf5_dataset`). Shard ``i`` of ``k``
            reads rows ``[i * s, (i + 1) * s)``, ``s = n // k`` (the last
            ``n % k`` rows are read by none); `batch_size` is then the
            per-replica batch. Without it, the dataset's auto-shard policy is
            DATA: under a multi-worker strategy each worker reads the whole
            file and keeps its slice of each (global) batch. Defaults to `None`.

    Returns:
        A `tf.data.Dataset` of `(x_batch, y_batch)` or `x_batch`, with known
        cardinality (steps per epoch).

    Raises:
        ValueError: while iterating, when the file changed in a way the dataset
            cannot follow (see the note); `tf.data` delivers it as a
            `tf.errors.InvalidArgumentError` carrying the same message, which
            names the file and what changed.

    Note:
        **When the file changes.** Every pass (epoch) opens the file again and
        streams what it holds at that moment, so a file rewritten with new
        values between epochs is read anew. The dataset's element spec and
        steps per epoch are fixed when it is created, though, so a pass refuses
        a file whose `x_key`/`y_key` data sets changed their number of rows,
        dtype or row shape, or that was deleted or replaced by a file without
        them or by a non-HDF5 file, raising an error that names the file and
        what changed (create the dataset again to stream the new file). A file
        replaced atomically during a pass (renamed over, as `write_hdf5` does)
        or deleted during it is still read whole from the version the pass
        opened; one modified in place during a pass (its size or modification
        time changes) is refused at the next read of a block, as the pass would
        otherwise mix two versions. Detection of in-place changes relies on
        the file's size and timestamps, so an in-place rewrite of the same size
        within the file system's timestamp resolution can go unnoticed: replace
        files atomically.

    Example:

    >>> x = np.arange(10.0, dtype="float32").reshape(5, 2)
    >>> _ = kt.data.write_hdf5("train.h5", x=x, y=np.arange(5))
    >>> train = kt.data.hdf5_dataset("train.h5", "x", "y", batch_size=2, shuffle=False)
    >>> for x_batch, y_batch in train:
    ...     print(y_batch.numpy())  # every example once, the last batch partial
    [0 1]
    [2 3]
    [4]
    >>> model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    >>> model.compile(optimizer="sgd", loss="mse")
    >>> shuffled = kt.data.hdf5_dataset("train.h5", "x", "y", batch_size=2, seed=0)
    >>> len(model.fit(shuffled, epochs=2, shuffle=False, verbose=0).history["loss"])
    2
    """
    path, specs = _open_checked(path, x_key, y_key)
    batch_size = check_int("batch_size", batch_size, low=1)
    check_bool("shuffle", shuffle)
    seed = check_seed("seed", seed)
    shuffle_buffer = check_int("shuffle_buffer", shuffle_buffer, low=1, allow_none=True)
    check_bool("drop_remainder", drop_remainder)
    initial_epoch = check_int("initial_epoch", initial_epoch, low=0)
    x_shape, x_dtype, x_chunks = specs[x_key]
    row0, n = shard_rows(shard, x_shape[0])
    row_bytes = _row_bytes(x_shape, x_dtype)
    block = x_chunks[0] if x_chunks else max(1, _CHUNK_BYTES // row_bytes)
    if shuffle_buffer is None:
        shuffle_buffer = max(batch_size, _WINDOW_BYTES // row_bytes)
    window_blocks = max(1, math.ceil(max(shuffle_buffer, batch_size) / block))
    keys = [x_key] if y_key is None else [x_key, y_key]
    slab = batch_size * max(1, _SLAB_BYTES // (batch_size * row_bytes))
    epochs = itertools.count(initial_epoch)

    def read_window(sources, group, carry):
        # One buffer per key, filled in place by `read_direct`: no per-block
        # temporaries, so the window is the only large allocation.
        sizes = [min(block, row0 + n - b) for b in group]
        window = []
        for source, rest in zip(sources, carry):
            buffer = np.empty((len(rest) + sum(sizes), *source.shape[1:]), source.dtype)
            buffer[: len(rest)] = rest
            offset = len(rest)
            for b, size in zip(group, sizes):
                source.read_direct(buffer, np.s_[b : b + size], np.s_[offset : offset + size])
                offset += size
            window.append(buffer)
        return window

    def generate():
        epoch = next(epochs)
        rng = np.random.default_rng(None if seed is None else (seed, epoch)) if shuffle else None
        starts = np.arange(row0, row0 + n, block)
        if rng is not None:
            starts = rng.permutation(starts)
        carry = [np.empty((0, *specs[k][0][1:]), specs[k][1]) for k in keys]
        # Refuses a file whose layout changed since creation, or that is modified
        # in place during the pass (see `_hdf5_changes`).
        with _hdf5_changes.open_unchanged(path, specs, keys) as (handle, guard):
            sources = [handle[k] for k in keys]
            for first in range(0, len(starts), window_blocks):
                try:
                    window = read_window(sources, starts[first : first + window_blocks], carry)
                except OSError as error:
                    guard.check(cause=error)
                    raise
                guard.check()
                size = len(window[0])
                full = size - size % batch_size
                # Shuffled rows are gathered through a permutation of the window
                # rather than from a permuted copy of it (half the memory).
                order = rng.permutation(size) if rng is not None else None
                for start in range(0, full, slab):
                    rows = slice(start, min(start + slab, full)) if order is None else order[start : min(start + slab, full)]
                    yield tuple(w[rows] for w in window)
                carry = [w[full:] if order is None else w[order[full:]] for w in window]
                carry = [c.copy() for c in carry]  # a view would pin the whole window
                del window
        if len(carry[0]) and not drop_remainder:
            yield tuple(carry)

    def to_batches(*slabs):
        # A slab is whole batches, or the final partial batch on its own.
        size = tf.minimum(tf.shape(slabs[0])[0], batch_size)
        batches = tuple(tf.reshape(t, [-1, size, *specs[k][0][1:]]) for t, k in zip(slabs, keys))
        return tf.data.Dataset.from_tensor_slices(batches if y_key else batches[0])

    signature = tuple(tf.TensorSpec((None, *specs[k][0][1:]), tf.as_dtype(specs[k][1])) for k in keys)
    # Python hands tf.data slabs of several batches (~4 MiB): the per-element
    # cost of `from_generator` is paid per slab, not per batch.
    dataset = tf.data.Dataset.from_generator(generate, output_signature=signature).flat_map(to_batches)
    steps = n // batch_size if drop_remainder else math.ceil(n / batch_size)
    dataset = dataset.apply(tf.data.experimental.assert_cardinality(steps))
    # A fixed prefetch of about one slab keeps memory bounded; AUTOTUNE may buffer
    # up to half the RAM when reading outpaces training.
    dataset = dataset.prefetch(max(2, slab // batch_size))
    return dataset.with_options(DATA_SHARDING if shard is None else NO_SHARDING)

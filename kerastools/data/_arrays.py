"""In-memory data: `train_dev_test_split`, `mini_batches`, `fit_normalizer` (see `kerastools.data`)."""

import itertools
import math
from fractions import Fraction

import keras
import numpy as np
import tensorflow as tf

from kerastools.data._sharding import DATA_SHARDING
from kerastools._validation import check_bool, check_int, check_number, check_seed


#: Data sets with at least this many examples get the course's large-data
#: ratios 98/1/1 when `ratios=None`; smaller ones get 60/20/20. At one million
#: examples 1% is 10,000 examples, plenty to estimate an error rate to about
#: ±1% (the course: "1% may be more than a thousand examples").
LARGE_DATA_THRESHOLD = 1_000_000
_SMALL_RATIOS = (0.6, 0.2, 0.2)
_LARGE_RATIOS = (0.98, 0.01, 0.01)


def _as_array(value, name):
    array = np.asarray(value)
    if array.ndim == 0:
        raise ValueError(f"Argument `{name}` must have a first (examples) dimension. Received: {name} of shape ()")
    return array


def _common_length(arrays, names):
    lengths = [len(a) for a in arrays]
    if len(set(lengths)) > 1:
        pairs = ", ".join(f"{n}: {k}" for n, k in zip(names, lengths))
        raise ValueError(f"All arrays must have the same number of examples (first dimension). Received lengths {pairs}")
    return lengths[0]


def _check_ratios(ratios, n):
    if ratios is None:
        return _LARGE_RATIOS if n >= LARGE_DATA_THRESHOLD else _SMALL_RATIOS
    if not isinstance(ratios, (list, tuple)) or len(ratios) not in (2, 3):
        raise ValueError(
            "Argument `ratios` must be None or a list/tuple of 2 (train, test) or 3 "
            f"(train, dev, test) fractions. Received: ratios={ratios!r}"
        )
    for r in ratios:
        check_number("ratios", r, low=0.0, high=1.0)
    total = math.fsum(ratios)
    if abs(total - 1.0) > 1e-6:
        raise ValueError(f"Argument `ratios` must sum to 1. Received: ratios={tuple(ratios)!r} (sum {total:g})")
    return tuple(float(r) for r in ratios)


def _largest_remainder(total, weights):
    """Integers summing exactly to `total`, proportional to `weights` (Fractions).

    Each gets ``floor(quota)``; the units left over go to the largest fractional
    parts (ties: the earlier one). Hamilton's apportionment method.
    """
    weight_sum = sum(weights)
    if weight_sum == 0:
        return [0] * len(weights)
    quotas = [Fraction(total) * w / weight_sum for w in weights]
    sizes = [math.floor(q) for q in quotas]
    order = sorted(range(len(weights)), key=lambda i: (-(quotas[i] - sizes[i]), i))
    for i in order[: total - sum(sizes)]:
        sizes[i] += 1
    return sizes


def _split_sizes(n, ratios):
    # Fraction(repr(0.6)) is exactly 3/5, so 60/20/20 of 10 is 6/2/2, not 5/2/3.
    return _largest_remainder(n, [Fraction(repr(r)) for r in ratios])


def _stratified_parts(labels, sizes, rng):
    """Split indices so each part has the overall sizes and each class its share.

    The parts are filled one after another: part j takes its exact size from
    the classes in proportion to what each class has left (largest remainder),
    so every class count is within one of its proportional share and every part
    has exactly its size.
    """
    _, inverse = np.unique(labels, return_inverse=True)
    members = [np.flatnonzero(inverse == c) for c in range(inverse.max() + 1)]
    if rng is not None:
        members = [rng.permutation(m) for m in members]
    remaining = [len(m) for m in members]
    counts = []
    for size in sizes[:-1]:
        taken = _largest_remainder(size, [Fraction(r) for r in remaining])
        counts.append(taken)
        remaining = [r - t for r, t in zip(remaining, taken)]
    counts.append(remaining)
    parts = []
    starts = [0] * len(members)
    for taken in counts:
        chosen = [m[s : s + t] for m, s, t in zip(members, starts, taken)]
        starts = [s + t for s, t in zip(starts, taken)]
        part = np.concatenate(chosen) if chosen else np.empty(0, np.int64)
        parts.append(rng.permutation(part) if rng is not None else np.sort(part))
    return parts


def train_dev_test_split(*arrays, ratios=None, seed=None, shuffle=True, stratify=None):
    """Split arrays into train/dev/test (or train/test) sets, every example used once.

    Sizes are exact: ``n * ratio`` rounded by largest remainder so that they sum
    to ``n`` (60/20/20 of 10 examples is 6/2/2). Splits never overlap.

    Args:
        *arrays: one or more arrays with the same number of examples (rows).
        ratios: `(train, dev, test)` or `(train, test)` fractions summing to 1;
            `None` applies the course's rule: 60/20/20 below
            `LARGE_DATA_THRESHOLD` (1,000,000) examples, 98/1/1 from there on.
            Defaults to `None`.
        seed: seed of the shuffle. Defaults to `None` (a fresh shuffle).
        shuffle: whether to shuffle before splitting; with `False` the splits
            are consecutive blocks in the original order. Defaults to `True`.
        stratify: class labels, one per example; each split then has the same
            class proportions as the whole (each class count within one of its
            share) while keeping the exact split sizes. Defaults to `None`.

    Returns:
        A tuple `(train, dev, test)` (or `(train, test)`); each element is a
        tuple of the arrays in the order given, or the array itself when a single
        array was passed.

    Example:

    >>> x = np.arange(20.0).reshape(10, 2)
    >>> y = np.arange(10)
    >>> (x_tr, y_tr), (x_dev, y_dev), (x_te, y_te) = kt.data.train_dev_test_split(x, y, seed=0)
    >>> len(x_tr), len(x_dev), len(x_te)  # the course's 60/20/20, exact
    (6, 2, 2)
    >>> sorted(np.concatenate([y_tr, y_dev, y_te]).tolist()) == list(range(10))
    True
    >>> x_train, x_test = kt.data.train_dev_test_split(x, ratios=(0.7, 0.3), shuffle=False)
    >>> x_test
    array([[14., 15.],
           [16., 17.],
           [18., 19.]])
    """
    if not arrays:
        raise ValueError("train_dev_test_split needs at least one array. Received: no arrays")
    names = [f"arrays[{i}]" for i in range(len(arrays))]
    arrays = [_as_array(a, name) for a, name in zip(arrays, names)]
    n = _common_length(arrays, names)
    ratios = _check_ratios(ratios, n)
    seed = check_seed("seed", seed)
    check_bool("shuffle", shuffle)
    sizes = _split_sizes(n, ratios)
    rng = np.random.default_rng(seed) if shuffle else None
    if stratify is not None:
        labels = _as_array(stratify, "stratify")
        if labels.ndim != 1 or len(labels) != n:
            raise ValueError(f"Argument `stratify` must hold one label per example ({n}). Received: stratify of shape {labels.shape}")
        parts = _stratified_parts(labels, sizes, rng)
    else:
        order = rng.permutation(n) if rng is not None else np.arange(n)
        parts = np.split(order, np.cumsum(sizes)[:-1])
    splits = [tuple(a[idx] for a in arrays) for idx in parts]
    return tuple(s if len(arrays) > 1 else s[0] for s in splits)


def _course_permutation(m, seed):
    # np.random.RandomState(seed).permutation is what the course's
    # `np.random.seed(seed); np.random.permutation(m)` draws.
    return np.random.RandomState(seed).permutation(m)


def _iterate(x, y, batch_size, order):
    for start in range(0, len(order), batch_size):
        idx = order[start : start + batch_size]
        yield (x[idx], y[idx]) if y is not None else x[idx]


def mini_batches(x, y=None, batch_size=64, seed=None, *, shuffle=True, as_dataset=False, initial_epoch=0):
    """The course's shuffle-and-partition: one epoch of mini-batches, last one partial.

    Shuffles the examples (rows) with ``np.random.RandomState(seed)``, exactly
    the permutation of the course's ``random_mini_batches(X, Y, size, seed)``,
    then cuts ``floor(m / batch_size)`` full batches and, if ``m % batch_size``,
    one final partial batch. Every example appears exactly once; ``x[i]`` and
    ``y[i]`` stay together.

    Args:
        x: inputs, examples along axis 0.
        y: targets with the same number of examples, or `None`. Defaults to `None`.
        batch_size: examples per batch (>= 1). Defaults to `64`.
        seed: seed of the shuffle; `None` draws a fresh order. Defaults to `None`.
        shuffle: `False` keeps the original order. Defaults to `True`.
        as_dataset: return a `tf.data.Dataset` instead of a NumPy iterator. Each
            pass over the dataset is one epoch; epoch `e` (counting from
            `initial_epoch`) uses ``seed + e``, the course's ``seed = seed + 1``
            per epoch, so the order of every epoch is reproducible. Defaults to `False`.
        initial_epoch: the epoch the dataset's first pass stands for (resuming a
            run at epoch `k` sees the orders of epochs `k, k + 1, ...`). Defaults to `0`.

    Returns:
        An iterator of `(x_batch, y_batch)` (or `x_batch` when `y` is None) NumPy
        arrays, or a `tf.data.Dataset` of the same batches.

    Example:

    >>> x = np.arange(10.0).reshape(5, 2)
    >>> y = np.arange(5)
    >>> for x_batch, y_batch in kt.data.mini_batches(x, y, batch_size=2, seed=0):
    ...     print(y_batch)  # the course's permutation, then the partial batch
    [2 0]
    [1 3]
    [4]
    >>> model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    >>> model.compile(optimizer="sgd", loss="mse")
    >>> dataset = kt.data.mini_batches(x, y, batch_size=2, seed=0, as_dataset=True)
    >>> len(model.fit(dataset, epochs=3, shuffle=False, verbose=0).history["loss"])  # epoch e uses seed + e
    3
    """
    x = _as_array(x, "x")
    if y is not None:
        y = _as_array(y, "y")
        _common_length([x, y], ["x", "y"])
    batch_size = check_int("batch_size", batch_size, low=1)
    seed = check_seed("seed", seed)
    check_bool("shuffle", shuffle)
    check_bool("as_dataset", as_dataset)
    initial_epoch = check_int("initial_epoch", initial_epoch, low=0)
    m = len(x)

    def order_for(epoch):
        if not shuffle:
            return np.arange(m)
        return _course_permutation(m, None if seed is None else seed + epoch)

    if not as_dataset:
        return _iterate(x, y, batch_size, order_for(initial_epoch))
    return _dataset(x, y, batch_size, order_for, initial_epoch)


def _dataset(x, y, batch_size, order_for, initial_epoch):
    epochs = itertools.count(initial_epoch)

    def one_order():
        # tf.data calls this once per pass over the dataset, i.e. once per epoch.
        yield order_for(next(epochs))

    orders = tf.data.Dataset.from_generator(one_order, output_signature=tf.TensorSpec((len(x),), tf.int64))
    index_batches = orders.flat_map(lambda order: tf.data.Dataset.from_tensor_slices(order).batch(batch_size))
    # The arrays enter the pipeline once (as Keras's own array adapter does) and
    # each batch is one gather in C++, instead of a Python call per example.
    data = (x,) if y is None else (x, y)
    tensors = tf.data.Dataset.from_tensors(data).repeat()

    def gather(idx, arrays):
        picked = tuple(tf.gather(a, idx) for a in arrays)
        return picked[0] if y is None else picked

    dataset = tf.data.Dataset.zip((index_batches, tensors)).map(gather, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    dataset = dataset.apply(tf.data.experimental.assert_cardinality(math.ceil(len(x) / batch_size)))
    # Auto-shard policy DATA: under a multi-worker strategy each worker keeps
    # its slice of every global batch (see `_sharding`).
    return dataset.prefetch(tf.data.AUTOTUNE).with_options(DATA_SHARDING)


def fit_normalizer(train_x, *, axis=-1):
    """A `keras.layers.Normalization` fitted on the training split only.

    The layer computes ``(x - mu) / sigma`` with the course's ``mu = mean(x)``
    and ``sigma**2 = mean((x - mu)**2)`` (population variance) of the training
    examples, per feature along `axis`; a constant feature (``sigma = 0``) is
    divided by Keras's epsilon instead. Apply the same layer to the dev and test
    sets and in production: never re-fit it on them (the course: use the ``mu``
    and ``sigma`` of the training set everywhere).

    Args:
        train_x: training inputs (array or `tf.data.Dataset` of input batches).
        axis: feature axis kept separate, as in `keras.layers.Normalization`.
            Defaults to `-1`.

    Returns:
        The adapted layer; put it first in the model (it is saved with it) or call it.

    Example:

    >>> x = np.array([[1.0, 10.0], [3.0, 10.0], [5.0, 10.0], [7.0, 10.0], [100.0, 0.0]])
    >>> x_tr, x_dev = kt.data.train_dev_test_split(x, ratios=(0.8, 0.2), shuffle=False)
    >>> normalize = kt.data.fit_normalizer(x_tr)  # mu = (4, 10), sigma = (sqrt(5), 0)
    >>> np.round(keras.ops.convert_to_numpy(normalize(x_tr)), 3)
    array([[-1.342,  0.   ],
           [-0.447,  0.   ],
           [ 0.447,  0.   ],
           [ 1.342,  0.   ]], dtype=float32)
    >>> model = keras.Sequential([keras.Input((2,)), normalize, keras.layers.Dense(1)])
    """
    if not isinstance(train_x, tf.data.Dataset):
        train_x = _as_array(train_x, "train_x")
        if len(train_x) == 0:
            raise ValueError("Argument `train_x` must hold at least one example. Received: train_x of shape " f"{train_x.shape}")
    layer = keras.layers.Normalization(axis=axis)
    layer.adapt(train_x)
    return layer

"""`kerastools.data`: splits, mini-batches and normalisation, against tests/data/reference.py."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from kerastools import data
from tests.data import reference

# ----------------------------------------------------------------------------- splits


@pytest.mark.parametrize("n", [0, 1, 2, 7, 10, 99, 100, 1001])
@pytest.mark.parametrize("ratios", [(0.6, 0.2, 0.2), (0.7, 0.3), (0.29, 0.71), (0.98, 0.01, 0.01), (1 / 3, 1 / 3, 1 / 3), (0.5, 0.5, 0.0)])
def test_split_sizes_are_exact_and_every_example_is_used_once(n, ratios):
    x = np.arange(n) * 10
    y = np.arange(n)
    parts = data.train_dev_test_split(x, y, ratios=ratios, seed=3)
    assert [len(p[1]) for p in parts] == reference.split_sizes(n, ratios)
    assert sorted(np.concatenate([p[1] for p in parts]).tolist()) == list(range(n))
    for px, py in parts:
        np.testing.assert_array_equal(px, py * 10)  # rows of x and y stay paired


def test_default_ratios_follow_the_course_with_the_documented_threshold():
    small = data.train_dev_test_split(np.arange(1000), seed=0)
    assert [len(p) for p in small] == [600, 200, 200]
    below = data.train_dev_test_split(np.arange(data.LARGE_DATA_THRESHOLD - 1), shuffle=False)
    assert [len(p) for p in below] == reference.split_sizes(data.LARGE_DATA_THRESHOLD - 1, (0.6, 0.2, 0.2))
    large = data.train_dev_test_split(np.arange(data.LARGE_DATA_THRESHOLD), shuffle=False)
    assert [len(p) for p in large] == [980_000, 10_000, 10_000]
    assert data.LARGE_DATA_THRESHOLD == 1_000_000


def test_seed_shuffle_and_order():
    x = np.arange(50)
    a = data.train_dev_test_split(x, seed=1)
    b = data.train_dev_test_split(x, seed=1)
    c = data.train_dev_test_split(x, seed=2)
    for p, q in zip(a, b):
        np.testing.assert_array_equal(p, q)
    assert not np.array_equal(a[0], c[0])
    assert not np.array_equal(np.sort(a[0]), a[0][:30])  # shuffled
    train, dev, test = data.train_dev_test_split(x, shuffle=False)
    np.testing.assert_array_equal(np.concatenate([train, dev, test]), x)


@pytest.mark.parametrize("shuffle", [True, False])
@pytest.mark.parametrize("ratios", [(0.6, 0.2, 0.2), (0.7, 0.3), (0.8, 0.1, 0.1)])
def test_stratified_split_keeps_class_proportions_and_exact_sizes(shuffle, ratios):
    rng = np.random.default_rng(0)
    labels = rng.choice(4, size=997, p=[0.5, 0.3, 0.15, 0.05])
    index = np.arange(len(labels))
    parts = data.train_dev_test_split(index, labels, ratios=ratios, seed=5, shuffle=shuffle, stratify=labels)
    assert [len(p[0]) for p in parts] == reference.split_sizes(len(labels), ratios)
    assert sorted(np.concatenate([p[0] for p in parts]).tolist()) == index.tolist()
    for (idx, lab), ratio in zip(parts, ratios):
        np.testing.assert_array_equal(labels[idx], lab)
        for c in range(4):
            share = ratio * np.sum(labels == c)
            assert abs(np.sum(lab == c) - share) < 2.0, (c, np.sum(lab == c), share)
        if not shuffle:
            assert np.all(np.diff(idx) > 0)  # original order kept


def test_single_array_returns_arrays():
    train, test = data.train_dev_test_split(np.zeros((10, 3)), ratios=(0.7, 0.3), seed=0)
    assert train.shape == (7, 3) and test.shape == (3, 3)


@pytest.mark.parametrize(
    "arrays, kwargs, error, message",
    [
        ((), {}, ValueError, r"needs at least one array"),
        ((np.zeros(5), np.zeros(4)), {}, ValueError, r"same number of examples .* Received lengths arrays\[0\]: 5, arrays\[1\]: 4"),
        ((np.float64(3.0),), {}, ValueError, r"Argument `arrays\[0\]` must have a first \(examples\) dimension"),
        ((np.zeros(5),), {"ratios": (0.5, 0.2, 0.2)}, ValueError, r"Argument `ratios` must sum to 1. Received: ratios=\(0.5, 0.2, 0.2\) \(sum 0.9\)"),
        ((np.zeros(5),), {"ratios": (1.2, -0.2)}, ValueError, r"Argument `ratios` must be in \[0, 1\]. Received: ratios=1.2"),
        ((np.zeros(5),), {"ratios": (0.6, 0.6, -0.2)}, ValueError, r"Argument `ratios` must be in \[0, 1\]. Received: ratios=-0.2"),
        ((np.zeros(5),), {"ratios": (1.0,)}, ValueError, r"list/tuple of 2 \(train, test\) or 3 .* Received: ratios=\(1.0,\)"),
        ((np.zeros(5),), {"ratios": 0.6}, ValueError, r"Received: ratios=0.6"),
        ((np.zeros(5),), {"ratios": ("a", "b")}, TypeError, r"Argument `ratios` must be a real number. Received: ratios='a'"),
        ((np.zeros(5),), {"seed": -1}, ValueError, r"Argument `seed` must be an integer >= 0. Received: seed=-1"),
        ((np.zeros(5),), {"shuffle": 1}, TypeError, r"Argument `shuffle` must be a bool"),
        ((np.zeros(5),), {"stratify": np.zeros(4)}, ValueError, r"Argument `stratify` must hold one label per example \(5\). Received: stratify of shape \(4,\)"),
    ],
)
def test_split_errors(arrays, kwargs, error, message):
    with pytest.raises(error, match=message):
        data.train_dev_test_split(*arrays, **kwargs)


# ----------------------------------------------------------------------------- mini-batches


@pytest.mark.parametrize("m, batch_size, seed", [(148, 64, 0), (128, 64, 3), (5, 64, 1), (10, 1, 2), (1, 1, 0)])
def test_mini_batches_match_the_course_code(m, batch_size, seed):
    rng = np.random.default_rng(m)
    X = rng.normal(size=(3, m))  # the course's layout: examples in columns
    Y = (rng.random((1, m)) > 0.5).astype(float)
    expected = reference.random_mini_batches(X, Y, batch_size, seed)
    got = list(data.mini_batches(X.T, Y.T, batch_size=batch_size, seed=seed))
    assert len(got) == len(expected) == -(-m // batch_size)
    for (gx, gy), (ex, ey) in zip(got, expected):
        np.testing.assert_array_equal(gx, ex.T)
        np.testing.assert_array_equal(gy, ey.T)
    assert len(got[-1][0]) == (m % batch_size or batch_size)  # final partial batch


def test_mini_batches_without_shuffle_or_targets():
    x = np.arange(10)
    assert [b.tolist() for b in data.mini_batches(x, batch_size=4, shuffle=False)] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    fresh = [np.concatenate(list(data.mini_batches(x, batch_size=3))) for _ in range(2)]
    assert all(sorted(f.tolist()) == list(range(10)) for f in fresh)


def _epoch(dataset):
    return [tuple(t.numpy() for t in batch) for batch in dataset]


def test_dataset_epochs_are_the_course_batches_with_seed_plus_epoch():
    x = np.arange(70, dtype="float64").reshape(35, 2)
    y = np.arange(35)
    dataset = data.mini_batches(x, y, batch_size=8, seed=10, as_dataset=True)
    assert dataset.cardinality().numpy() == 5
    for epoch in range(3):  # each pass over the dataset is the next epoch
        expected = list(data.mini_batches(x, y, batch_size=8, seed=10 + epoch))
        got = _epoch(dataset)
        assert len(got) == len(expected)
        for (gx, gy), (ex, ey) in zip(got, expected):
            np.testing.assert_array_equal(gx, ex)
            np.testing.assert_array_equal(gy, ey)
    resumed = data.mini_batches(x, y, batch_size=8, seed=10, as_dataset=True, initial_epoch=2)
    for (gx, _), (ex, _) in zip(_epoch(resumed), data.mini_batches(x, y, batch_size=8, seed=12)):
        np.testing.assert_array_equal(gx, ex)


def test_dataset_of_inputs_only_trains_a_model():
    x = np.random.default_rng(0).normal(size=(20, 3)).astype("float32")
    dataset = data.mini_batches(x, batch_size=6, shuffle=False, as_dataset=True)
    assert [b.shape[0] for b in dataset.as_numpy_iterator()] == [6, 6, 6, 2]
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(3)])
    model.compile("sgd", "mse")
    pairs = data.mini_batches(x, x, batch_size=6, seed=0, as_dataset=True)
    history = model.fit(pairs, epochs=2, verbose=0, shuffle=False)
    assert len(history.history["loss"]) == 2


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"batch_size": 0}, ValueError, r"Argument `batch_size` must be an integer >= 1. Received: batch_size=0"),
        ({"batch_size": -5}, ValueError, r"Received: batch_size=-5"),
        ({"batch_size": 2.5}, TypeError, r"Argument `batch_size` must be an integer. Received: batch_size=2.5"),
        ({"y": np.zeros(9)}, ValueError, r"same number of examples .* Received lengths x: 10, y: 9"),
        ({"seed": "a"}, TypeError, r"Argument `seed` must be an integer"),
        ({"initial_epoch": -1}, ValueError, r"Argument `initial_epoch` must be an integer >= 0"),
        ({"as_dataset": "yes"}, TypeError, r"Argument `as_dataset` must be a bool"),
    ],
)
def test_mini_batch_errors(kwargs, error, message):
    with pytest.raises(error, match=message):
        data.mini_batches(np.zeros(10), **kwargs)


# ----------------------------------------------------------------------------- normalisation


def test_normalizer_uses_training_statistics_only():
    rng = np.random.default_rng(0)
    x = rng.normal(loc=[3.0, -2.0, 50.0], scale=[1.0, 10.0, 0.1], size=(400, 3))
    x_train, x_dev, _ = data.train_dev_test_split(x, seed=0)
    x_dev = x_dev + 5.0  # a shifted dev set must NOT change the statistics
    layer = data.fit_normalizer(x_train)
    mu, sigma2 = reference.normalization_statistics(x_train)
    np.testing.assert_allclose(np.ravel(layer.mean), mu, rtol=1e-6)
    np.testing.assert_allclose(np.ravel(layer.variance), sigma2, rtol=1e-5)
    got = keras.ops.convert_to_numpy(layer(x_dev.astype("float32")))
    np.testing.assert_allclose(got, reference.normalize(x_dev, mu, sigma2), rtol=1e-4, atol=1e-4)
    assert abs(got.mean(axis=0)[0] - 5.0) < 1.0  # the shift survives: dev stats were not used


def test_normalizer_on_a_dataset_and_constant_features():
    x = np.ones((32, 2), "float32") * [[1.0, 7.0]]
    x[:, 0] = np.arange(32)
    layer = data.fit_normalizer(tf.data.Dataset.from_tensor_slices(x).batch(5))
    out = keras.ops.convert_to_numpy(layer(x))
    assert np.all(np.isfinite(out)) and np.all(out[:, 1] == 0.0)  # constant feature -> 0, not NaN
    mu, sigma2 = reference.normalization_statistics(x[:, :1])
    np.testing.assert_allclose(out[:, :1], reference.normalize(x[:, :1], mu, sigma2), rtol=1e-5, atol=1e-5)


def test_normalizer_errors():
    with pytest.raises(ValueError, match=r"Argument `train_x` must hold at least one example"):
        data.fit_normalizer(np.zeros((0, 3)))

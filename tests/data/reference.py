"""Independent NumPy float64 references for the data utilities.

Written from the formulas (the course, the book, the papers), not from the
library's code: the library is checked against these, in plain NumPy float64.
"""

import numpy as np


def split_sizes(n, ratios):
    """Exact split sizes: floor(n * r) each, the leftover units to the largest
    fractional parts, earlier split first on ties (Hamilton's method), in exact
    decimal arithmetic so that 0.29 * 100 is 29, not 28.999999999999996."""
    from decimal import Decimal

    weights = [Decimal(repr(float(r))) for r in ratios]
    quotas = [Decimal(n) * w / sum(weights) for w in weights]
    sizes = [int(q) for q in quotas]  # int() truncates: the floor of a non-negative
    fractions = [q - s for q, s in zip(quotas, sizes)]
    for i in sorted(range(len(sizes)), key=lambda i: (-fractions[i], i))[: n - sum(sizes)]:
        sizes[i] += 1
    return sizes


def random_mini_batches(X, Y, mini_batch_size=64, seed=0):
    """The course's `random_mini_batches`, verbatim in substance: examples are the
    COLUMNS of X (n_x, m) and Y (1, m)."""
    np.random.seed(seed)
    m = X.shape[1]
    mini_batches = []
    permutation = list(np.random.permutation(m))
    shuffled_X = X[:, permutation]
    shuffled_Y = Y[:, permutation].reshape((1, m))
    num_complete_minibatches = m // mini_batch_size
    for k in range(num_complete_minibatches):
        mini_batches.append(
            (
                shuffled_X[:, k * mini_batch_size : (k + 1) * mini_batch_size],
                shuffled_Y[:, k * mini_batch_size : (k + 1) * mini_batch_size],
            )
        )
    if m % mini_batch_size != 0:
        mini_batches.append(
            (shuffled_X[:, num_complete_minibatches * mini_batch_size :], shuffled_Y[:, num_complete_minibatches * mini_batch_size :])
        )
    return mini_batches


def normalization_statistics(x_train):
    """The course's input normalisation, per feature over the training examples
    (rows): mu = (1/m) sum x, sigma^2 = (1/m) sum (x - mu)^2."""
    x = np.asarray(x_train, np.float64)
    mu = x.sum(axis=0) / len(x)
    sigma2 = ((x - mu) ** 2).sum(axis=0) / len(x)
    return mu, sigma2


def normalize(x, mu, sigma2):
    """(x - mu) / sigma with the training statistics."""
    return (np.asarray(x, np.float64) - mu) / np.sqrt(sigma2)

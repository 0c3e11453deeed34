"""Independent NumPy float64 references for the formulas in SPEC.md.

Written from the course's formulas, not from the library's code: the library is
checked against these. Each function is plain NumPy on float64 arrays.
"""

import numpy as np

# --------------------------------------------------------------------------- #
# Gradient checking (SPEC section 5)
# --------------------------------------------------------------------------- #


def relative_difference(a, b):
    """||a - b||_2 / (||a||_2 + ||b||_2) over the flattened arrays."""
    a = np.ravel(np.asarray(a, np.float64))
    b = np.ravel(np.asarray(b, np.float64))
    return np.linalg.norm(a - b) / (np.linalg.norm(a) + np.linalg.norm(b))


def gradient_check_loop(cost, theta, epsilon=1e-7):
    """The course's `gradient_check_n` loop: dtheta_approx[i] for every i."""
    theta = np.asarray(theta, np.float64)
    approx = np.zeros_like(theta)
    for i in range(theta.size):
        plus = theta.copy()
        plus.flat[i] += epsilon
        minus = theta.copy()
        minus.flat[i] -= epsilon
        approx.flat[i] = (cost(plus) - cost(minus)) / (2 * epsilon)
    return approx


# --------------------------------------------------------------------------- #
# Initializers and regularizers (SPEC section 4)
# --------------------------------------------------------------------------- #


def fans(shape):
    """(n_in, n_out): Dense (n_in, n_out); conv (*k, c_in, c_out) times the receptive field."""
    if len(shape) == 2:
        return shape[0], shape[1]
    rf = int(np.prod(shape[:-2]))
    return rf * shape[-2], rf * shape[-1]


def l2_cost_tail(weights, lambd, m):
    """lambda / (2m) * sum over layers of ||W||_F^2."""
    return lambd / (2 * m) * sum(np.sum(np.square(w)) for w in weights)


def l2_gradient_tail(w, lambd, m):
    """(lambda / m) * W."""
    return lambd / m * np.asarray(w, np.float64)


# --------------------------------------------------------------------------- #
# Optimizers (SPEC section 1) -- issue 2
# --------------------------------------------------------------------------- #


# --------------------------------------------------------------------------- #
# Learning-rate schedules (SPEC section 2) -- issue 3
# --------------------------------------------------------------------------- #


# --------------------------------------------------------------------------- #
# Layers (SPEC section 3) -- issue 4
# --------------------------------------------------------------------------- #


# --------------------------------------------------------------------------- #
# Data utilities (SPEC section 6) -- issue 5
# --------------------------------------------------------------------------- #


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

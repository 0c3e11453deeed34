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

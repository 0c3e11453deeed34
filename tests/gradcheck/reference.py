"""Independent NumPy float64 references for gradient checking: the course's loop.

Written from the formulas (the course, the book, the papers), not from the
library's code: the library is checked against these, in plain NumPy float64.
"""

import numpy as np


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

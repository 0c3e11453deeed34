"""Independent NumPy float64 references for the regularizers: the course's L2 terms.

Written from the formulas (the course, the book, the papers), not from the
library's code: the library is checked against these, in plain NumPy float64.
"""

import numpy as np


def l2_cost_tail(weights, lambd, m):
    """lambda / (2m) * sum over layers of ||W||_F^2."""
    return lambd / (2 * m) * sum(np.sum(np.square(w)) for w in weights)


def l2_gradient_tail(w, lambd, m):
    """(lambda / m) * W."""
    return lambd / m * np.asarray(w, np.float64)

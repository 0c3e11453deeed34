"""Independent NumPy float64 references for the initializers: fan counts.

Written from the formulas (the course, the book, the papers), not from the
library's code: the library is checked against these, in plain NumPy float64.
"""

import numpy as np


def fans(shape):
    """(n_in, n_out): Dense (n_in, n_out); conv (*k, c_in, c_out) times the receptive field."""
    if len(shape) == 2:
        return shape[0], shape[1]
    rf = int(np.prod(shape[:-2]))
    return rf * shape[-2], rf * shape[-1]

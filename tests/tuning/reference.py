"""Independent NumPy float64 references for the hyperparameter samplers.

Written from the formulas (the course, the book, the papers), not from the
library's code: the library is checked against these, in plain NumPy float64.
"""

import numpy as np


def course_log_sample(u, low, high):
    """The course's log scale: r = a + (b - a) * u with a = log10(low), b = log10(high); 10**r."""
    a, b = np.log10(low), np.log10(high)
    r = a + (b - a) * np.asarray(u, np.float64)
    return 10.0**r


def course_beta_sample(u, beta_low, beta_high):
    """The course's beta: r uniform in [log10(1 - beta_high), log10(1 - beta_low)]; beta = 1 - 10**r."""
    a, b = np.log10(1.0 - beta_high), np.log10(1.0 - beta_low)
    r = a + (b - a) * np.asarray(u, np.float64)
    return 1.0 - 10.0**r


def coarse_to_fine_interval(previous, top_points, zoom):
    """The next round's interval of one parameter in [0, 1] coordinates, by cases.

    The new width is zoom times the previous width, or the spread of the best
    points if that is larger (never more than 1); it is centred on the middle
    of the best points, and pushed back inside [0, 1] if it sticks out.
    """
    spread = max(top_points) - min(top_points)
    width = zoom * (previous[1] - previous[0])
    if spread > width:
        width = spread
    if width > 1.0:
        width = 1.0
    centre = (max(top_points) + min(top_points)) / 2.0
    low, high = centre - width / 2.0, centre + width / 2.0
    if low < 0.0:
        low, high = 0.0, width
    if high > 1.0:
        low, high = 1.0 - width, 1.0
    return low, high

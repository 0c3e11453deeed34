"""Independent NumPy float64 references for the hyperparameter samplers, and
CoarseToFine's width schedule re-derived from its documented rule.

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


def coarse_to_fine_schedule(done_scores, sizes, zoom, grow, restart):
    """Each round's ``(width, is_restart)`` (rounds 1 to ``len(sizes) - 1``) from the
    scores of the trials in start order and the round sizes, written from
    `CoarseToFineOracle`'s docstring: zoom, then * grow after a round that improved
    on the best score before it, * zoom after one that did not; a restart (width 1)
    once the first `restart` rounds of boxes since round 0 or the last restart all
    failed, and zoom again after it."""
    widths = {1: (zoom, False)}
    best = min(done_scores[: sizes[0]])
    since, progress = 0, False  # rounds of boxes since round 0 or the last restart; did one improve?
    for k in range(2, len(sizes)):
        start = sum(sizes[: k - 1])
        during = min(done_scores[start : start + sizes[k - 1]])
        improved, best = during < best, min(best, during)
        width, was_restart = widths[k - 1]
        if was_restart:
            widths[k], since, progress = (zoom, False), 0, False
            continue
        since, progress = since + 1, progress or improved
        if restart > 0 and since == restart and not progress:
            widths[k] = (1.0, True)
        else:
            widths[k] = (min(1.0, width * grow) if improved else width * zoom, False)
    return widths

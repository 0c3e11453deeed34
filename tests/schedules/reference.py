"""Independent NumPy float64 references for the learning-rate schedules.

Written from the formulas (the course, the book, the papers), not from the
library's code: the library is checked against these, in plain NumPy float64.
"""

import numpy as np

# Scalar Python float64 functions of one step ``g``, written from the formulas of
# the course, TensorFlow 1's documentation and the papers. Piecewise
# definitions use explicit loops and branches, not the closed forms the library
# vectorises.


def course_fractional_decay(r0, decay_rate, epoch_num):
    """The course's r = r0 / (1 + decayRate * epochNum)."""
    return r0 / (1.0 + decay_rate * epoch_num)


def inverse_time_decay(r0, decay_steps, decay_rate, g, staircase=False):
    p = np.floor(g / decay_steps) if staircase else g / decay_steps
    return r0 / (1.0 + decay_rate * p)


def exponential_decay(r0, decay_steps, decay_rate, g, staircase=False):
    p = np.floor(g / decay_steps) if staircase else g / decay_steps
    return r0 * decay_rate**p


def natural_exp_decay(r0, decay_steps, decay_rate, g, staircase=False):
    p = np.floor(g / decay_steps) if staircase else g / decay_steps
    return r0 * np.exp(-decay_rate * p)


def piecewise_constant(boundaries, values, g):
    """values[0] up to and including boundaries[0], ..., values[-1] after the last."""
    for boundary, value in zip(boundaries, values):
        if g <= boundary:
            return value
    return values[-1]


def polynomial_decay(r0, decay_steps, end, power, g, cycle=False):
    if cycle:
        # the first multiple of decay_steps that is >= g (decay_steps itself at g = 0)
        d = max(1.0, np.ceil(g / decay_steps)) * decay_steps
    else:
        d = decay_steps
        g = min(g, decay_steps)
    return (r0 - end) * (1.0 - g / d) ** power + end


def cosine_decay(r0, decay_steps, alpha, g):
    g = min(g, decay_steps)
    return r0 * ((1.0 - alpha) * 0.5 * (1.0 + np.cos(np.pi * g / decay_steps)) + alpha)


def linear_cosine_decay(r0, decay_steps, num_periods, alpha, beta, g, noise=0.0):
    """TF1's linear_cosine_decay; `noise` is added to the linear term (the noisy variant)."""
    g = min(g, decay_steps)
    linear = (decay_steps - g) / decay_steps + noise
    cosine = 0.5 * (1.0 + np.cos(2.0 * np.pi * num_periods * g / decay_steps))
    return r0 * ((alpha + linear) * cosine + beta)


def noisy_linear_cosine_variance(initial_variance, variance_decay, decay_steps, g):
    """Variance of the noise on the linear term at step g."""
    return initial_variance / (1.0 + min(g, decay_steps)) ** variance_decay


def sgdr(r0, first_decay_steps, t_mul, m_mul, alpha, g):
    """SGDR by walking the periods: period i lasts first_decay_steps * t_mul**i."""
    if t_mul == 1.0:
        i = np.floor(g / first_decay_steps)
        start, length = i * first_decay_steps, first_decay_steps
    else:
        i, start, length = 0, 0.0, float(first_decay_steps)
        while start + length <= g:
            start, length, i = start + length, length * t_mul, i + 1
    f = (g - start) / length
    return r0 * ((1.0 - alpha) * m_mul**i * 0.5 * (1.0 + np.cos(np.pi * f)) + alpha)


def cyclical(base_lr, max_lr, step_size, mode, gamma, g):
    """Smith (2017), section 3.1, the paper's code for triangular/triangular2/exp_range."""
    cycle = np.floor(1 + g / (2 * step_size))
    x = np.abs(g / step_size - 2 * cycle + 1)
    scale = {"triangular": 1.0, "triangular2": 0.5 ** (cycle - 1), "exp_range": gamma**g}[mode]
    return base_lr + (max_lr - base_lr) * np.maximum(0.0, 1 - x) * scale


def one_cycle(low, high, total, pct_start, end, g, three_phase=True, anneal="linear"):
    """Smith & Topin (2018): knots (0, low), (u, high), [(2u, low),] (total, end); then end."""
    u = pct_start * total
    knots = [(0.0, low), (u, high)] + ([(2 * u, low)] if three_phase else []) + [(float(total), end)]
    if g >= total:
        return end
    for (x0, y0), (x1, y1) in zip(knots, knots[1:]):
        if x0 <= g < x1:
            t = (g - x0) / (x1 - x0)
            if anneal == "cos":
                return y1 + (y0 - y1) * 0.5 * (1.0 + np.cos(np.pi * t))
            return y0 + (y1 - y0) * t
    raise AssertionError(g)


def warmup(schedule, warmup_steps, start, g, shift=True):
    """Goyal et al. (2017): linear from `start` to the schedule, then the schedule."""
    target = schedule(0.0) if shift else schedule(float(warmup_steps))
    if g < warmup_steps:
        return start + (target - start) * g / warmup_steps
    return schedule(g - warmup_steps) if shift else schedule(g)


def sequential(schedules, boundaries, g):
    """schedules[i](g - boundaries[i-1]) on [boundaries[i-1], boundaries[i])."""
    starts = [0.0] + [float(b) for b in boundaries]
    i = max(k for k, start in enumerate(starts) if start <= g) if g >= 0 else 0
    return schedules[i](g - starts[i])

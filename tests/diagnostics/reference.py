"""Independent NumPy float64 references for the diagnostics.

Written from the formulas (the course, the book, the papers), not from the
library's code: the library is checked against these, in plain NumPy float64.
"""

import numpy as np

# Written from the course's formulas (its bias/variance table, its
# activation-histogram experiment, backpropagation by hand), not from the library.

ACTIVATIONS = {
    "sigmoid": (lambda z: 1.0 / (1.0 + np.exp(-z)), lambda a: a * (1.0 - a)),
    "tanh": (np.tanh, lambda a: 1.0 - a**2),
    "relu": (lambda z: np.maximum(z, 0.0), lambda a: (a > 0).astype(np.float64)),
    "linear": (lambda z: z, lambda a: np.ones_like(a)),
}


def bias_variance(train_error, dev_error, baseline_error, bias_tolerance, variance_tolerance):
    """(avoidable bias, variance, verdict) as in the course's table."""
    bias, variance = train_error - baseline_error, dev_error - train_error
    high_bias, high_variance = bias > bias_tolerance, variance > variance_tolerance
    if high_bias and high_variance:
        verdict = "high bias and high variance"
    elif high_bias:
        verdict = "high bias"
    elif high_variance:
        verdict = "high variance"
    else:
        verdict = "good"
    return bias, variance, verdict


def mlp_forward(x, weights, biases, activations):
    """Activations of every layer, a[l] = g(a[l-1] @ W[l] + b[l]) (the course's loop)."""
    a, out = np.asarray(x, np.float64), []
    for w, b, name in zip(weights, biases, activations):
        a = ACTIVATIONS[name][0](a @ w + b)
        out.append(a)
    return out


def activation_stats(a, bounds=None, tolerance=0.01):
    """mean, std, fraction of zeros, fraction of dead units (zero for every example),
    fraction saturated (within `tolerance` of a bound) of one layer's activations."""
    a = np.asarray(a, np.float64)
    stats = {
        "mean": a.mean(),
        "std": a.std(),
        "fraction_zero": np.count_nonzero(a == 0) / a.size,
        "fraction_dead": np.count_nonzero(~np.any(a != 0, axis=0)) / a.shape[1],
    }
    if bounds is not None:
        lo, hi = bounds
        stats["fraction_saturated"] = np.count_nonzero((a - lo <= tolerance) | (hi - a <= tolerance)) / a.size
    return stats


def mlp_mse_gradients(x, y, weights, biases, activations, l2=0.0):
    """Gradients of J = mean((a[L] - y)**2) + l2 * sum ||W||^2 by backpropagation."""
    acts = mlp_forward(x, weights, biases, activations)
    inputs = [np.asarray(x, np.float64)] + acts[:-1]
    delta_a = 2.0 * (acts[-1] - y) / acts[-1].size
    grads_w, grads_b = [], []
    for layer in reversed(range(len(weights))):
        dz = delta_a * ACTIVATIONS[activations[layer]][1](acts[layer])
        grads_w.insert(0, inputs[layer].T @ dz + 2.0 * l2 * weights[layer])
        grads_b.insert(0, dz.sum(axis=0))
        delta_a = dz @ weights[layer].T
    return grads_w, grads_b

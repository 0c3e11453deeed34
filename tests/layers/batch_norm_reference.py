"""NumPy float64 references for masked and renormalised batch normalisation.

Independent of the library's closed-form backward pass: the forward pass is
written step by step on the kept rows, and the backward pass walks the same
computation graph node by node (as `tests/reference.batch_norm_backward` does for
the plain layer), with the mask deciding which rows feed the statistics and the
renorm corrections ``r``, ``d`` held constant (Ioffe 2017, Algorithm 1).
Features are on the last axis; the mask covers every other axis.
"""

import numpy as np


def _rows(x):
    x = np.asarray(x, np.float64)
    return x.reshape(-1, x.shape[-1])


def forward(x, gamma, beta, epsilon, mask=None, renorm=None):
    """Training-mode forward pass.

    Args:
        x: input, features on the last axis.
        gamma, beta: per-feature scale and offset (`None`: 1 and 0).
        epsilon: added to the variance.
        mask: `None` or an array shaped like ``x.shape[:-1]``; non-zero keeps a row.
        renorm: `None` or a dict with ``mean``, ``stddev`` (the renorm moving
            statistics) and optional ``rmin``, ``rmax``, ``dmax``.

    Returns:
        ``(y, cache)``; the cache holds ``mu``, ``var``, ``r``, ``d`` among others.
    """
    rows = _rows(x)
    features = rows.shape[1]
    keep = np.ones(len(rows), bool) if mask is None else np.asarray(mask).reshape(-1) != 0
    kept = rows[keep]
    n = len(kept)
    mu = kept.mean(axis=0) if n else np.zeros(features)
    var = ((kept - mu) ** 2).mean(axis=0) if n else np.zeros(features)
    std = np.sqrt(var + epsilon)
    xc = rows - mu
    xn = xc / std
    r, d = np.ones(features), np.zeros(features)
    if renorm is not None:
        sigma = np.maximum(np.asarray(renorm["stddev"], np.float64), np.sqrt(epsilon))
        r = std / sigma
        d = (mu - np.asarray(renorm["mean"], np.float64)) / sigma
        if renorm.get("rmin") is not None:
            r = np.maximum(r, renorm["rmin"])
        if renorm.get("rmax") is not None:
            r = np.minimum(r, renorm["rmax"])
        if renorm.get("dmax") is not None:
            d = np.clip(d, -renorm["dmax"], renorm["dmax"])
    z = xn * r + d
    g = np.ones(features) if gamma is None else np.ravel(gamma).astype(np.float64)
    b = np.zeros(features) if beta is None else np.ravel(beta).astype(np.float64)
    y = z * g + b
    cache = dict(shape=np.shape(x), keep=keep, n=n, mu=mu, var=var, std=std, xc=xc, z=z, r=r, d=d, g=g)
    return y.reshape(np.shape(x)), cache


def backward(dy, cache):
    """Node-by-node backward pass; returns ``(dx, dgamma, dbeta)``."""
    dout = _rows(dy)
    xc, std, r, g, n = cache["xc"], cache["std"], cache["r"], cache["g"], max(cache["n"], 1)
    keep = cache["keep"][:, None].astype(np.float64)
    dbeta = dout.sum(axis=0)
    dgamma = (cache["z"] * dout).sum(axis=0)
    dxn = dout * g * r  # z = xn * r + d, r and d constants
    dxc = dxn / std  # xn = xc / std, for every row
    dstd = -np.sum(dxn * xc / std**2, axis=0)
    dvar = 0.5 * dstd / std  # std = sqrt(var + eps)
    dxc = dxc + (2.0 / n) * xc * keep * dvar  # var = sum(keep * xc ** 2) / n
    dmu = -dxc.sum(axis=0)  # xc = x - mu, for every row
    dx = dxc + keep * dmu / n  # mu = sum(keep * x) / n
    return dx.reshape(cache["shape"]), dgamma, dbeta


def ewma(previous, value, momentum):
    return momentum * np.asarray(previous, np.float64) + (1.0 - momentum) * np.asarray(value, np.float64)


def moving_statistics(cache, previous, epsilon, momentum, renorm_momentum=None):
    """The moving statistics after one training step (Keras's update rules).

    `previous` maps variable names (``moving_mean``, ``moving_variance`` and, with
    renorm, ``moving_stddev``, ``renorm_mean``, ``renorm_stddev``) to values.
    """
    mu, var = cache["mu"], cache["var"]
    new = {"moving_mean": ewma(previous["moving_mean"], mu, momentum)}
    if renorm_momentum is None:
        new["moving_variance"] = ewma(previous["moving_variance"], var, momentum)
        return new
    std = np.sqrt(var + epsilon)
    new["renorm_mean"] = ewma(previous["renorm_mean"], mu, renorm_momentum)
    new["renorm_stddev"] = ewma(previous["renorm_stddev"], std, renorm_momentum)
    new["moving_stddev"] = ewma(previous["moving_stddev"], std, momentum)
    new["moving_variance"] = np.maximum(new["moving_stddev"] ** 2 - epsilon, 0.0)
    return new

"""Independent NumPy float64 references for the layers' forward and backward passes.

Written from the formulas (the course, the book, the papers), not from the
library's code: the library is checked against these, in plain NumPy float64.
"""

import numpy as np


def dropout_forward(a, d, keep_prob):
    """The course's inverted dropout with a given 0/1 mask `d`: a * d / keep_prob."""
    return np.asarray(a, np.float64) * d / keep_prob


def _to_rows(x, feature_axes):
    """Move the feature axes last and flatten: (m, D) rows of the course's 2-D layer."""
    x = np.asarray(x, np.float64)
    other = [a for a in range(x.ndim) if a not in feature_axes]
    moved = np.transpose(x, other + list(feature_axes))
    return moved.reshape(-1, int(np.prod([x.shape[a] for a in feature_axes]))), moved.shape, other


def _from_rows(rows, moved_shape, other, feature_axes):
    order = other + list(feature_axes)
    return np.transpose(rows.reshape(moved_shape), np.argsort(order))


def batch_norm_forward(x, gamma, beta, epsilon, feature_axes):
    """The course's training-mode forward step by step (mu, var, x_hat, y).

    Returns ``(y, cache)``; `gamma`/`beta` are shaped like the feature axes.
    """
    rows, moved_shape, other = _to_rows(x, feature_axes)
    m = rows.shape[0]
    mu = rows.sum(axis=0) / m
    xc = rows - mu
    var = (xc**2).sum(axis=0) / m
    std = np.sqrt(var + epsilon)
    xn = xc / std
    y = np.ravel(gamma) * xn + np.ravel(beta)
    cache = dict(xc=xc, xn=xn, std=std, gamma=np.ravel(gamma), m=m, mu=mu, var=var,
                 moved_shape=moved_shape, other=other, feature_axes=list(feature_axes))
    return _from_rows(y, moved_shape, other, feature_axes), cache


def batch_norm_backward(dy, cache):
    """Backward pass through the computation graph node by node (Kratzert 2016, the
    course's book's ``__backward``), independent of the closed form in the library.

    Returns ``(dx, dgamma, dbeta)``.
    """
    dout, _, _ = _to_rows(dy, cache["feature_axes"])
    xc, xn, std, m = cache["xc"], cache["xn"], cache["std"], cache["m"]
    dbeta = dout.sum(axis=0)
    dgamma = np.sum(xn * dout, axis=0)
    dxn = cache["gamma"] * dout
    dxc = dxn / std
    dstd = -np.sum((dxn * xc) / (std * std), axis=0)
    dvar = 0.5 * dstd / std
    dxc += (2.0 / m) * xc * dvar
    dmu = np.sum(dxc, axis=0)
    dx = dxc - dmu / m
    dx = _from_rows(dx, cache["moved_shape"], cache["other"], cache["feature_axes"])
    return dx, dgamma, dbeta


def batch_norm_inference(x, gamma, beta, moving_mean, moving_var, epsilon, feature_axes):
    """y = gamma * (x - moving_mean) / sqrt(moving_var + epsilon) + beta, per feature."""
    rows, moved_shape, other = _to_rows(x, feature_axes)
    y = np.ravel(gamma) * (rows - np.ravel(moving_mean)) / np.sqrt(np.ravel(moving_var) + epsilon)
    return _from_rows(y + np.ravel(beta), moved_shape, other, feature_axes)


def ewma(previous, value, momentum):
    """The course's exponentially weighted average: momentum * previous + (1 - momentum) * value."""
    return momentum * np.asarray(previous, np.float64) + (1.0 - momentum) * np.asarray(value, np.float64)


def conv2d_direct(x, kernel, bias, stride, pads, dilation=(1, 1)):
    """Convolution by its definition, NHWC, kernel (FH, FW, C, F); `pads` ((t, b), (l, r)).

    OH = (H + t + b - (D*(FH-1)+1)) // S + 1; out[n, i, j, f] = sum over the window.
    """
    x = np.pad(np.asarray(x, np.float64), ((0, 0), pads[0], pads[1], (0, 0)))
    fh, fw, _, f = kernel.shape
    sh, sw = stride
    dh, dw = dilation
    oh = (x.shape[1] - (dh * (fh - 1) + 1)) // sh + 1
    ow = (x.shape[2] - (dw * (fw - 1) + 1)) // sw + 1
    out = np.zeros((x.shape[0], oh, ow, f))
    for i in range(oh):
        for j in range(ow):
            window = x[:, i * sh : i * sh + dh * (fh - 1) + 1 : dh, j * sw : j * sw + dw * (fw - 1) + 1 : dw, :]
            out[:, i, j, :] = np.einsum("nabc,abcf->nf", window, kernel)
    return out if bias is None else out + bias


def conv2d_direct_backward(x, kernel, dy, stride, pads):
    """Gradients (dx, dkernel, dbias) of `conv2d_direct` (dilation 1) by scattering dy back."""
    xp = np.pad(np.asarray(x, np.float64), ((0, 0), pads[0], pads[1], (0, 0)))
    fh, fw, _, _ = kernel.shape
    sh, sw = stride
    dxp = np.zeros_like(xp)
    dk = np.zeros(kernel.shape)
    for i in range(dy.shape[1]):
        for j in range(dy.shape[2]):
            window = (slice(None), slice(i * sh, i * sh + fh), slice(j * sw, j * sw + fw), slice(None))
            dxp[window] += np.einsum("nf,abcf->nabc", dy[:, i, j, :], kernel)
            dk += np.einsum("nabc,nf->abcf", xp[window], dy[:, i, j, :])
    h, w = x.shape[1], x.shape[2]
    dx = dxp[:, pads[0][0] : pads[0][0] + h, pads[1][0] : pads[1][0] + w, :]
    return dx, dk, dy.sum(axis=(0, 1, 2))


def pool2d_direct(x, pool, stride, pads, mode):
    """Max or average pooling by definition, NHWC; padding never wins a max and is
    not counted in an average."""
    x = np.asarray(x, np.float64)
    valid = np.pad(np.ones(x.shape[1:3]), pads)
    xp = np.pad(x, ((0, 0), pads[0], pads[1], (0, 0)), constant_values=-np.inf if mode == "max" else 0.0)
    oh = (xp.shape[1] - pool[0]) // stride[0] + 1
    ow = (xp.shape[2] - pool[1]) // stride[1] + 1
    out = np.zeros((x.shape[0], oh, ow, x.shape[3]))
    for i in range(oh):
        for j in range(ow):
            rows = slice(i * stride[0], i * stride[0] + pool[0])
            cols = slice(j * stride[1], j * stride[1] + pool[1])
            window = xp[:, rows, cols, :]
            if mode == "max":
                out[:, i, j, :] = window.max(axis=(1, 2))
            else:
                out[:, i, j, :] = window.sum(axis=(1, 2)) / valid[rows, cols].sum()
    return out


def same_pads(size, window, stride):
    """TensorFlow's "same" padding (before, after) for one dimension."""
    out = -(-size // stride)
    total = max((out - 1) * stride + window - size, 0)
    return total // 2, total - total // 2


def softmax(z, axis=-1, mask=None):
    """exp(z - max) / sum(exp(z - max)) over `axis` (int or tuple); masked entries get 0."""
    z = np.asarray(z, np.float64)
    if mask is None:
        mask = np.ones(z.shape, bool)
    mask = np.broadcast_to(np.asarray(mask, bool), z.shape)
    zm = np.where(mask, z, -np.inf)
    peak = np.max(zm, axis=axis, keepdims=True)
    peak = np.where(np.isfinite(peak), peak, 0.0)
    t = np.where(mask, np.exp(np.where(mask, z - peak, 0.0)), 0.0)
    total = t.sum(axis=axis, keepdims=True)
    return np.where(total > 0, t / np.where(total > 0, total, 1.0), 0.0)

"""Independent NumPy float64 references for the formulas of the docs guides (docs/guides/).

Written from the course's and the book's formulas (docs/conventions.md), not from the library's code: the library is
checked against these. Each function is plain NumPy on float64 arrays.
"""

import numpy as np

# --------------------------------------------------------------------------- #
# Gradient checking (docs/guides/gradcheck.md)
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
# Initializers and regularizers (docs/guides/initializers-regularizers.md)
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
# Optimizers (docs/guides/optimizers.md) -- issue 2
# --------------------------------------------------------------------------- #


class OptimizerReference:
    """One optimizer over a list of float64 arrays, written from the update rules of docs/guides/optimizers.md.

    `learning_rate` is a number or a function of the number of steps already
    taken (0, 1, ...), as Keras calls schedules. `weight_decay` is the decoupled
    decay ``w <- w - lr * weight_decay * w`` applied before the rule. `update`
    works on one array with its own state dict; ``t`` is the 1-based step.
    """

    def __init__(self, learning_rate, weight_decay=None):
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.iterations = 0
        self.states = {}

    def rate(self):
        lr = self.learning_rate
        return float(lr(self.iterations)) if callable(lr) else float(lr)

    def apply(self, params, grads):
        lr, t = self.rate(), self.iterations + 1
        new = []
        for i, (w, g) in enumerate(zip(params, grads)):
            w = np.array(w, np.float64)
            g = np.asarray(g, np.float64)
            if self.weight_decay:
                w = w - lr * self.weight_decay * w
            new.append(self.update(self.states.setdefault(i, {}), w, g, lr, t))
        self.iterations += 1
        return new

    def update(self, state, w, g, lr, t):
        raise NotImplementedError


def _zeros(state, name, like, value=0.0):
    if name not in state:
        state[name] = np.full_like(like, value)
    return state[name]


class SGDReference(OptimizerReference):
    """w <- w - lr g; momentum mu: v <- mu v - lr g, w <- w + v (Nesterov: w + mu v - lr g)."""

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, **kwargs):
        super().__init__(learning_rate, **kwargs)
        self.momentum, self.nesterov = momentum, nesterov

    def update(self, state, w, g, lr, t):
        if self.momentum == 0:
            return w - lr * g
        v = self.momentum * _zeros(state, "v", w) - lr * g
        state["v"] = v
        return w + (self.momentum * v - lr * g if self.nesterov else v)


class MomentumReference(OptimizerReference):
    """The course's update_parameters_with_momentum: v <- beta v + (1 - beta) g,
    w <- w - lr v, or w - lr v / (1 - beta^t) with bias correction."""

    def __init__(self, learning_rate=0.01, beta=0.9, bias_correction=False, **kwargs):
        super().__init__(learning_rate, **kwargs)
        self.beta, self.bias_correction = beta, bias_correction

    def update(self, state, w, g, lr, t):
        v = self.beta * _zeros(state, "v", w) + (1 - self.beta) * g
        state["v"] = v
        if self.bias_correction:
            v = v / (1 - self.beta**t)
        return w - lr * v


class AdagradReference(OptimizerReference):
    """h <- h + g*g; w <- w - lr g / sqrt(h + eps) ("inside") or / (sqrt(h) + eps)."""

    def __init__(
        self,
        learning_rate=0.001,
        initial_accumulator_value=0.1,
        epsilon=1e-7,
        epsilon_placement="inside",
        **kwargs,
    ):
        super().__init__(learning_rate, **kwargs)
        self.h0, self.epsilon, self.placement = initial_accumulator_value, epsilon, epsilon_placement

    def update(self, state, w, g, lr, t):
        h = _zeros(state, "h", w, self.h0) + g * g
        state["h"] = h
        if self.placement == "inside":
            return w - lr * g / np.sqrt(h + self.epsilon)
        return w - lr * g / (np.sqrt(h) + self.epsilon)


class RMSpropReference(OptimizerReference):
    """s <- rho s + (1 - rho) g^2 (centred: minus gbar^2, gbar <- rho gbar + (1 - rho) g);
    step = lr g / sqrt(s + eps) or lr g / (sqrt(s) + eps); p <- momentum p + step; w <- w - p."""

    def __init__(
        self,
        learning_rate=0.001,
        rho=0.9,
        momentum=0.0,
        epsilon=1e-7,
        centered=False,
        epsilon_placement="inside",
        **kwargs,
    ):
        super().__init__(learning_rate, **kwargs)
        self.rho, self.momentum, self.epsilon = rho, momentum, epsilon
        self.centered, self.placement = centered, epsilon_placement

    def update(self, state, w, g, lr, t):
        s = self.rho * _zeros(state, "s", w) + (1 - self.rho) * g * g
        state["s"] = s
        d = s
        if self.centered:
            gbar = self.rho * _zeros(state, "gbar", w) + (1 - self.rho) * g
            state["gbar"] = gbar
            d = s - gbar * gbar
        if self.placement == "inside":
            step = lr * g / np.sqrt(d + self.epsilon)
        else:
            step = lr * g / (np.sqrt(d) + self.epsilon)
        p = self.momentum * _zeros(state, "p", w) + step
        state["p"] = p
        return w - p


class AdamReference(OptimizerReference):
    """The course's update_parameters_with_adam with the three epsilon placements:
    "inside" sqrt(v_hat + eps), "outside" sqrt(v_hat) + eps, "hat" Keras's
    lr sqrt(1 - b2^t) / (1 - b1^t) m / (sqrt(v) + eps); AMSGrad uses max over v."""

    def __init__(
        self,
        learning_rate=0.001,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-7,
        amsgrad=False,
        epsilon_placement="hat",
        **kwargs,
    ):
        super().__init__(learning_rate, **kwargs)
        self.beta_1, self.beta_2, self.epsilon = beta_1, beta_2, epsilon
        self.amsgrad, self.placement = amsgrad, epsilon_placement

    def update(self, state, w, g, lr, t):
        b1, b2, eps = self.beta_1, self.beta_2, self.epsilon
        m = b1 * _zeros(state, "m", w) + (1 - b1) * g
        v = b2 * _zeros(state, "v", w) + (1 - b2) * g * g
        state["m"], state["v"] = m, v
        if self.amsgrad:
            v = np.maximum(_zeros(state, "v_max", w), v)
            state["v_max"] = v
        if self.placement == "hat":
            return w - lr * np.sqrt(1 - b2**t) / (1 - b1**t) * m / (np.sqrt(v) + eps)
        m_hat, v_hat = m / (1 - b1**t), v / (1 - b2**t)
        if self.placement == "outside":
            return w - lr * m_hat / (np.sqrt(v_hat) + eps)
        return w - lr * m_hat / np.sqrt(v_hat + eps)


def clip_by_global_norm(grads, clip_norm):
    """Clipping by global norm: if ||g||_2 >= c (over all arrays) then g <- c g / ||g||_2."""
    norm = np.sqrt(sum(np.sum(np.square(g)) for g in grads))
    return [g * clip_norm / norm if norm >= clip_norm else g for g in grads]



# --------------------------------------------------------------------------- #
# Learning-rate schedules (docs/guides/schedules.md) -- issue 3
# --------------------------------------------------------------------------- #

# Scalar Python float64 functions of one step ``g``, written from the formulas of
# docs/guides/schedules.md, TensorFlow 1's documentation and the papers. Piecewise
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



# --------------------------------------------------------------------------- #
# Layers (docs/guides/layers.md) -- issue 4
# --------------------------------------------------------------------------- #


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


# --------------------------------------------------------------------------- #
# Data utilities (docs/guides/data.md) -- issue 5
# --------------------------------------------------------------------------- #


def split_sizes(n, ratios):
    """Exact split sizes: floor(n * r) each, the leftover units to the largest
    fractional parts, earlier split first on ties (Hamilton's method), in exact
    decimal arithmetic so that 0.29 * 100 is 29, not 28.999999999999996."""
    from decimal import Decimal

    weights = [Decimal(repr(float(r))) for r in ratios]
    quotas = [Decimal(n) * w / sum(weights) for w in weights]
    sizes = [int(q) for q in quotas]  # int() truncates: the floor of a non-negative
    fractions = [q - s for q, s in zip(quotas, sizes)]
    for i in sorted(range(len(sizes)), key=lambda i: (-fractions[i], i))[: n - sum(sizes)]:
        sizes[i] += 1
    return sizes


def random_mini_batches(X, Y, mini_batch_size=64, seed=0):
    """The course's `random_mini_batches`, verbatim in substance: examples are the
    COLUMNS of X (n_x, m) and Y (1, m)."""
    np.random.seed(seed)
    m = X.shape[1]
    mini_batches = []
    permutation = list(np.random.permutation(m))
    shuffled_X = X[:, permutation]
    shuffled_Y = Y[:, permutation].reshape((1, m))
    num_complete_minibatches = m // mini_batch_size
    for k in range(num_complete_minibatches):
        mini_batches.append(
            (
                shuffled_X[:, k * mini_batch_size : (k + 1) * mini_batch_size],
                shuffled_Y[:, k * mini_batch_size : (k + 1) * mini_batch_size],
            )
        )
    if m % mini_batch_size != 0:
        mini_batches.append(
            (shuffled_X[:, num_complete_minibatches * mini_batch_size :], shuffled_Y[:, num_complete_minibatches * mini_batch_size :])
        )
    return mini_batches


def normalization_statistics(x_train):
    """The course's input normalisation, per feature over the training examples
    (rows): mu = (1/m) sum x, sigma^2 = (1/m) sum (x - mu)^2."""
    x = np.asarray(x_train, np.float64)
    mu = x.sum(axis=0) / len(x)
    sigma2 = ((x - mu) ** 2).sum(axis=0) / len(x)
    return mu, sigma2


def normalize(x, mu, sigma2):
    """(x - mu) / sigma with the training statistics."""
    return (np.asarray(x, np.float64) - mu) / np.sqrt(sigma2)


# --------------------------------------------------------------------------- #
# Hyperparameter search (docs/guides/tuning.md) -- issue 6
# --------------------------------------------------------------------------- #


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


# --------------------------------------------------------------------------- #
# Diagnostics (docs/guides/diagnostics.md) -- issue 7
# --------------------------------------------------------------------------- #

# Written from the course's formulas (its bias/variance table, week 1), the book's
# activation-histogram experiment (section 6.2.2), backpropagation by hand), not from the library.

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

"""Independent NumPy float64 references for the optimizers' update rules.

Written from the formulas (the course, the book, the papers), not from the
library's code: the library is checked against these, in plain NumPy float64.
"""

import numpy as np


class OptimizerReference:
    """One optimizer over a list of float64 arrays, written from the course's update rules.

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
    """Global-norm clipping: if ||g||_2 >= c (over all arrays) then g <- c g / ||g||_2."""
    norm = np.sqrt(sum(np.sum(np.square(g)) for g in grads))
    return [g * clip_norm / norm if norm >= clip_norm else g for g in grads]

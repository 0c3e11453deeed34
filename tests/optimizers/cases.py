"""The registry of optimizer cases that drives the shared optimizer tests.

Each case is one configuration (one convention) of one kerastools optimizer, with
the float64 NumPy reference that must reproduce it, the TensorFlow kernel its
fused path must use (`None`: no kernel computes it, the `keras.ops` path runs),
and, where Keras has the same algorithm with the same arguments, the Keras class.
"""

import dataclasses

import keras
import numpy as np
import tensorflow as tf

import kerastools as kt
from tests.optimizers import reference


@dataclasses.dataclass(frozen=True)
class Case:
    id: str
    cls: type
    kwargs: dict
    reference: type
    kernel: str | None
    keras_cls: type | None = None

    def make(self, **overrides):
        return self.cls(**{**self.kwargs, **overrides})

    def make_keras(self, **overrides):
        return self.keras_cls(**{**self.kwargs, **overrides})

    @property
    def is_default(self):
        return not self.kwargs


def _case(id, cls, kernel, kwargs=None, keras_cls=None):
    references = {
        kt.SGD: reference.SGDReference,
        kt.Momentum: reference.MomentumReference,
        kt.Adagrad: reference.AdagradReference,
        kt.RMSprop: reference.RMSpropReference,
        kt.Adam: reference.AdamReference,
        kt.AdamW: reference.AdamReference,
    }
    return Case(id, cls, kwargs or {}, references[cls], kernel, keras_cls)


_K = keras.optimizers

CASES = [
    _case("sgd", kt.SGD, "ResourceApplyGradientDescent", keras_cls=_K.SGD),
    _case("sgd_momentum", kt.SGD, "ResourceApplyKerasMomentum",
          {"learning_rate": 0.02, "momentum": 0.9}, _K.SGD),
    _case("sgd_nesterov", kt.SGD, "ResourceApplyKerasMomentum",
          {"learning_rate": 0.02, "momentum": 0.8, "nesterov": True}, _K.SGD),
    _case("momentum", kt.Momentum, "ResourceApplyMomentum", {"learning_rate": 0.05}),
    _case("momentum_bias_correction", kt.Momentum, "ResourceApplyMomentum",
          {"learning_rate": 0.05, "beta": 0.8, "bias_correction": True}),
    _case("adagrad", kt.Adagrad, "ResourceApplyAdagrad", keras_cls=_K.Adagrad),
    _case("adagrad_course", kt.Adagrad, "ResourceApplyAdagrad",
          {"learning_rate": 0.1, "initial_accumulator_value": 0.0}, _K.Adagrad),
    _case("adagrad_outside", kt.Adagrad, "ResourceApplyAdagradV2",
          {"learning_rate": 0.1, "initial_accumulator_value": 0.0, "epsilon": 1e-3,
           "epsilon_placement": "outside"}),
    _case("rmsprop", kt.RMSprop, "ResourceApplyRMSProp", keras_cls=_K.RMSprop),
    _case("rmsprop_momentum", kt.RMSprop, "ResourceApplyRMSProp",
          {"learning_rate": 0.01, "rho": 0.999, "momentum": 0.5, "epsilon": 1e-3}, _K.RMSprop),
    _case("rmsprop_centered", kt.RMSprop, "ResourceApplyCenteredRMSProp",
          {"learning_rate": 0.01, "momentum": 0.5, "centered": True, "epsilon": 1e-3}, _K.RMSprop),
    _case("rmsprop_outside", kt.RMSprop, "ResourceApplyAdam",
          {"learning_rate": 0.01, "rho": 0.99, "epsilon": 1e-3, "epsilon_placement": "outside"}),
    _case("rmsprop_outside_centered", kt.RMSprop, None,
          {"learning_rate": 0.01, "momentum": 0.5, "centered": True, "epsilon": 1e-3,
           "epsilon_placement": "outside"}),
    _case("adam", kt.Adam, "ResourceApplyAdam", keras_cls=_K.Adam),
    _case("adam_outside", kt.Adam, "ResourceApplyAdam",
          {"learning_rate": 0.01, "epsilon": 1e-2, "epsilon_placement": "outside"}),
    _case("adam_inside", kt.Adam, None,
          {"learning_rate": 0.01, "epsilon": 1e-2, "epsilon_placement": "inside"}),
    _case("adam_amsgrad", kt.Adam, "ResourceApplyAdamWithAmsgrad",
          {"learning_rate": 0.01, "beta_2": 0.9, "amsgrad": True}, _K.Adam),
    _case("adamw", kt.AdamW, "ResourceApplyAdam", keras_cls=_K.AdamW),
    _case("adamw_outside", kt.AdamW, "ResourceApplyAdam",
          {"learning_rate": 0.01, "weight_decay": 0.1, "epsilon": 1e-2,
           "epsilon_placement": "outside"}),
]  # fmt: skip

# AdamW's reference is Adam's plus the decay that Keras's base class applies.
_ADAMW_DEFAULT_DECAY = 0.004


def reference_for(case, **overrides):
    """The case's NumPy reference, with AdamW's default decay filled in."""
    kwargs = {**case.kwargs, **overrides}
    if case.cls is kt.AdamW:
        kwargs.setdefault("weight_decay", _ADAMW_DEFAULT_DECAY)
    return case.reference(**kwargs)


def ids(cases):
    return [case.id for case in cases]


FUSED_CASES = [case for case in CASES if case.kernel is not None]
KERAS_CASES = [case for case in CASES if case.keras_cls is not None]
DEFAULT_CASES = [case for case in CASES if case.is_default]

# One case per class, its default configuration: what the heavier integration
# tests (fit, XLA, mixed precision, distribution) run.
ONE_PER_CLASS = [case for case in CASES if case.is_default] + [
    next(case for case in CASES if case.id == "momentum")
]


# ---------------------------------------------------------------- helpers


def quadratic(shape, seed):
    """A random convex quadratic ``f(w) = 1/2 w'Hw - b'w`` over an array of `shape`:
    returns ``(grad_fn, w0)`` in float64."""
    rng = np.random.default_rng(seed)
    size = int(np.prod(shape))
    a = rng.standard_normal((size, size))
    hessian = a @ a.T / size + 0.1 * np.eye(size)
    b = rng.standard_normal(size)

    def grad(w):
        return (hessian @ np.ravel(w) - b).reshape(shape)

    return grad, rng.standard_normal(shape)


def quadratics(seed=0, shapes=((2, 3), (4,), (1,))):
    """One independent random quadratic per variable, variables of several shapes."""
    return [quadratic(shape, seed * 100 + i) for i, shape in enumerate(shapes)]


def run(optimizer, problems, steps, dtype="float64"):
    """`steps` eager `apply` calls, one variable per problem; the final values in float64."""
    variables = [keras.Variable(np.asarray(w0, dtype), dtype=dtype) for _, w0 in problems]
    for _ in range(steps):
        grads = [
            tf.constant(grad(np.asarray(v.numpy(), np.float64)), dtype)
            for (grad, _), v in zip(problems, variables)
        ]
        optimizer.apply(grads, variables)
    return [np.asarray(v.numpy(), np.float64) for v in variables]


def run_reference(ref, problems, steps, dtype="float64"):
    """The reference from the same start (rounded to `dtype`, as `run` rounds it)."""
    params = [np.asarray(np.asarray(w0, dtype), np.float64) for _, w0 in problems]
    for _ in range(steps):
        params = ref.apply(params, [grad(w) for (grad, _), w in zip(problems, params)])
    return params


def max_abs_diff(xs, ys):
    return max(float(np.max(np.abs(x - y))) for x, y in zip(xs, ys))


def graph_op_types(optimizer, variables, jit_compile=False):
    """The op types of one traced `apply` on `variables`, nested functions
    (``tf.cond`` branches) included."""
    optimizer.build(variables)
    specs = [tf.TensorSpec(v.shape, v.dtype) for v in variables]
    fn = tf.function(lambda *grads: optimizer.apply(list(grads), variables), jit_compile=jit_compile)
    graph_def = fn.get_concrete_function(*specs).graph.as_graph_def()
    types = {node.op for node in graph_def.node}
    for function in graph_def.library.function:
        types.update(node.op for node in function.node_def)
    return types


def fused_op_types(types):
    return {t for t in types if t.startswith("ResourceApply") or t.startswith("ResourceSparseApply")}


def by_hand(optimizer, w0, grads):
    """Apply each gradient in turn to one float64 variable starting at `w0`;
    returns the value after each step."""
    w = keras.Variable(np.asarray(w0, "float64"), dtype="float64")
    values = []
    for g in grads:
        optimizer.apply([tf.constant(np.asarray(g, "float64"))], [w])
        values.append(w.numpy())
    return values


BOTH_PATHS = {"argnames": "fused", "argvalues": [None, False], "ids": ["fused", "portable"]}

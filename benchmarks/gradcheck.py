"""Gradient-check speed: vectorised full mode and fast mode vs the per-parameter loop.

    python benchmarks/gradcheck.py [--quick] [--out DIR]

The target is a ~5,000-parameter MLP (64-64-10, tanh, L2) on 32 digits. Every
method checks the same float64 cost ``J(theta)``:

* loop, eager: the course's `gradient_check_n` loop, one pair of eager cost
  evaluations per parameter (`numerical_gradient(..., vectorize=False)`);
* loop, compiled: the same loop calling a `tf.function`-compiled cost, the
  fastest a per-parameter loop gets in TensorFlow;
* full: `check_gradients(mode="full")` (every partial derivative, vectorised);
  "cold" includes tracing and XLA compilation, "warm" is a second identical call;
* fast: `check_gradients(mode="fast")` (4 random directions per variable).

Ratios are speed-ups over the compiled loop (and over the eager loop). The table
is also written to ``benchmarks/results/gradcheck.json`` (``--out DIR`` elsewhere).
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import _common  # noqa: E402  (first: puts this checkout's kerastools on the path)
import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from kerastools import gradcheck, regularizers  # noqa: E402


def build():
    model = _common.mlp((64,), "tanh", softmax=False, seed=0, kernel_regularizer=regularizers.L2(1e-3))
    x, y = _common.digits()
    return model, x[:32], y[:32]


def float64_cost(model, x, y):
    """J(theta) of a float64 copy of `model`, as `(cost, theta0)`."""
    clone = keras.models.clone_model(model)
    clone64 = keras.Sequential(
        [keras.Input((64,), dtype="float64")]
        + [
            layer.__class__.from_config({**layer.get_config(), "dtype": "float64"})
            for layer in clone.layers
        ]
    )
    clone64.set_weights([w.astype("float64") for w in model.get_weights()])
    shapes = [tuple(v.shape) for v in clone64.trainable_variables]
    sizes = [int(np.prod(s)) for s in shapes]
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True, dtype="float64")
    x64 = x.astype("float64")

    def cost(theta):
        parts = tf.split(tf.convert_to_tensor(theta, tf.float64), sizes)
        weights = [tf.reshape(p, s) for p, s in zip(parts, shapes)]
        out, _, losses = clone64.stateless_call(weights, [], x64, return_losses=True)
        return loss(y, out) + tf.add_n(losses)

    theta0 = np.concatenate([w.ravel() for w in clone64.get_weights()])
    return cost, theta0


def main(argv=None):
    parser = _common.parser("gradcheck", __doc__, "time the loops on 500 parameters and extrapolate")
    args = _common.parse_args(parser, argv)

    model, x, y = build()
    n = model.count_params()
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    cost, theta0 = float64_cost(model, x, y)
    compiled = tf.function(cost)
    print(f"MLP with {n} parameters, batch 32")

    # The loops are timed on a prefix of the parameters and scaled to all n when
    # --quick; otherwise run in full.
    count = 500 if args.quick else n

    def loop(fn):
        def run():
            theta = theta0.copy()
            out = np.empty(count)
            for i in range(count):
                plus, minus = theta.copy(), theta.copy()
                plus[i] += 1e-7
                minus[i] -= 1e-7
                out[i] = (float(fn(plus)) - float(fn(minus))) / (plus[i] - minus[i])
            return out

        return run

    compiled(theta0)  # trace once, outside the timing
    t_eager, eager_grad = _common.timed(loop(cost))
    t_compiled, compiled_grad = _common.timed(loop(compiled))
    t_eager *= n / count
    t_compiled *= n / count

    t_full_cold, report = _common.timed(lambda: gradcheck.check_gradients(model, x, y, loss=loss, seed=0))
    t_full_warm, report = _common.timed(lambda: gradcheck.check_gradients(model, x, y, loss=loss, seed=0))
    t_fast_cold, fast = _common.timed(lambda: gradcheck.check_gradients(model, x, y, loss=loss, seed=0, mode="fast"))
    t_fast_warm, fast = _common.timed(lambda: gradcheck.check_gradients(model, x, y, loss=loss, seed=0, mode="fast"))

    # The loops and the vectorised check computed the same partial derivatives.
    vectorised = np.concatenate([np.ravel(v) for v in report.numerical.values()])
    agreement = gradcheck.relative_difference(vectorised[:count], compiled_grad)
    assert agreement < 1e-7, agreement
    assert report.passed and fast.passed

    rows = [
        ("loop, eager (course)", t_eager),
        ("loop, compiled cost", t_compiled),
        ("full, vectorised, cold", t_full_cold),
        ("full, vectorised, warm", t_full_warm),
        ("fast, cold", t_fast_cold),
        ("fast, warm", t_fast_warm),
    ]
    count_note = f"; --quick: loops timed on {count} of {n} parameters and scaled" if args.quick else ""
    result = _common.table(
        f"Gradient check of the {n}-parameter MLP 64-64-10 (tanh, L2) on 32 digits{count_note}",
        ["method", "seconds", "x vs compiled loop", "x vs eager loop"],
        [[name, seconds, t_compiled / seconds, t_eager / seconds] for name, seconds in rows],
    )
    _common.print_table(result)
    summary = (
        f"full-mode difference {report.difference:.2e}, fast-mode {fast.difference:.2e}; "
        f"vectorised vs loop partials agree to {agreement:.1e}"
    )
    print(summary)
    _common.write_result(
        args, [result],
        summary + ". The peer is the course's per-parameter loop, eager and with a compiled cost, in the same run.",
    )


if __name__ == "__main__":
    main()

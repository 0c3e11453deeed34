"""Gradient-check speed: vectorised full mode and fast mode vs the per-parameter loop.

    python benchmarks/gradcheck.py [--quick]

The target is a ~5,000-parameter MLP (64-64-10, tanh, L2) on 32 digits. Every
method checks the same float64 cost ``J(theta)``:

* loop, eager: the course's `gradient_check_n` loop, one pair of eager cost
  evaluations per parameter (`numerical_gradient(..., vectorize=False)`);
* loop, compiled: the same loop calling a `tf.function`-compiled cost, the
  fastest a per-parameter loop gets in TensorFlow;
* full: `check_gradients(mode="full")` (every partial derivative, vectorised);
  "cold" includes tracing and XLA compilation, "warm" is a second identical call;
* fast: `check_gradients(mode="fast")` (4 random directions per variable).

Ratios are speed-ups over the compiled loop (and over the eager loop).
"""

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402

from kerastools import gradcheck, regularizers  # noqa: E402


def build():
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((64,)),
            keras.layers.Dense(64, activation="tanh", kernel_regularizer=regularizers.L2(1e-3)),
            keras.layers.Dense(10),
        ]
    )
    digits = load_digits()
    x = (digits.data[:32] / 16.0).astype("float32")
    y = digits.target[:32]
    return model, x, y


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


def timed(fn):
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="time the loops on 500 parameters and extrapolate")
    args = parser.parse_args(argv)

    model, x, y = build()
    n = model.count_params()
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    cost, theta0 = float64_cost(model, x, y)
    compiled = tf.function(cost)
    print(f"device: {tf.config.list_logical_devices()[0].name}; MLP with {n} parameters, batch 32")

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
    t_eager, eager_grad = timed(loop(cost))
    t_compiled, compiled_grad = timed(loop(compiled))
    t_eager *= n / count
    t_compiled *= n / count

    t_full_cold, report = timed(lambda: gradcheck.check_gradients(model, x, y, loss=loss, seed=0))
    t_full_warm, report = timed(lambda: gradcheck.check_gradients(model, x, y, loss=loss, seed=0))
    t_fast_cold, fast = timed(lambda: gradcheck.check_gradients(model, x, y, loss=loss, seed=0, mode="fast"))
    t_fast_warm, fast = timed(lambda: gradcheck.check_gradients(model, x, y, loss=loss, seed=0, mode="fast"))

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
    print(f"\n{'method':<26}{'seconds':>10}{'x vs compiled loop':>20}{'x vs eager loop':>17}")
    for name, seconds in rows:
        print(f"{name:<26}{seconds:>10.3f}{t_compiled / seconds:>20.1f}{t_eager / seconds:>17.1f}")
    print(f"\nfull-mode difference {report.difference:.2e}, fast-mode {fast.difference:.2e}; "
          f"vectorised vs loop partials agree to {agreement:.1e}")
    if args.quick:
        print(f"(--quick: loops timed on {count} of {n} parameters and scaled)")


if __name__ == "__main__":
    main()

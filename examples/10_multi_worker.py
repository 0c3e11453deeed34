"""Multi-worker training: N local worker processes, plain Keras `fit`, one kerastools call.

    python examples/10_multi_worker.py [--workers 2] [--epochs 6] [--out DIR] [--smoke]

This one command starts `--workers` copies of itself (``--worker`` mode) as a
local cluster (`kt.distribute.LocalCluster`: one process per worker, each with
its ``TF_CONFIG`` naming ``127.0.0.1`` ports). Every worker runs the same plain
Keras script after one kerastools call::

    strategy = kt.distribute.multi_worker_strategy()
    with strategy.scope():
        model = build_model()          # kerastools Conv2D, BatchNormalization(synchronized=True), ...
    model.fit(kt.data.mini_batches(x, y, GLOBAL_BATCH, seed=0, as_dataset=True), epochs=...)

The global batch is split over the workers (auto-shard policy DATA), the
gradients are all-reduced every step, so every worker ends with the same
weights, and these equal the weights of one process trained on the same global
batches, up to float32 summation order (the script checks both and stops with
an error otherwise: losses within GLOBAL_BATCH * eps relative, weights within
1 % of the distance Adam can move a weight, see the comment in `main`). The CNN has no dropout: kerastools's Dropout draws one
mask per replica, which one process cannot reproduce (see the guide
docs/guides/distributed.md).

It writes ``multi_worker_loss.png``: the training loss per epoch of every
worker and of the single process, on top of each other. On several hosts the
same worker script runs once per host with that host's ``TF_CONFIG``.
"""

import argparse
import json
import os
import pathlib
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # before TensorFlow starts: the output is the example's own

import keras  # noqa: E402
import numpy as np  # noqa: E402

import _common  # noqa: E402
import kerastools as kt  # noqa: E402

FIGURES = ("multi_worker_loss.png",)
SEED = 0
GLOBAL_BATCH = 120  # divisible by 1 to 6 workers: equal shares per replica
EPS32 = float(np.finfo(np.float32).eps)
LR = 3e-3


def configure(parser):
    parser.add_argument("--workers", type=int, default=2, help="local worker processes (default 2)")
    parser.add_argument("--epochs", type=int, default=6, help="training epochs (default 6)")


def worker_args(argv):
    """The arguments of ``--worker`` mode, parsed without `_common.parse_args`:
    printing the device would start TensorFlow before the strategy configures
    its collective ops, which must come first in the process."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--worker", action="store_true")
    parser.add_argument("--out", type=pathlib.Path, required=True)
    parser.add_argument("--epochs", type=int, required=True)
    parser.add_argument("--smoke", action="store_true")
    return parser.parse_args(argv)


def data(smoke):
    (x, y), _, _ = _common.digits(images=True)
    n = (min(len(x), 240 if smoke else len(x)) // GLOBAL_BATCH) * GLOBAL_BATCH  # whole global batches only
    return x[:n], y[:n]


def build_model():
    keras.utils.set_random_seed(SEED)
    model = keras.Sequential(
        [
            keras.Input((8, 8, 1)),
            # No bias before batch norm: its gradient is zero in exact arithmetic,
            # and Adam would turn the float32 noise of that zero into +-lr steps.
            kt.layers.Conv2D(16, 3, padding=1, use_bias=False, kernel_initializer=kt.initializers.HeNormal(seed=1)),
            kt.layers.BatchNormalization(synchronized=True),
            keras.layers.ReLU(),
            kt.layers.MaxPooling2D(2),
            keras.layers.Flatten(),
            keras.layers.Dense(10, kernel_initializer=kt.initializers.XavierNormal(seed=3)),
            kt.layers.Softmax(),
        ]
    )
    model.compile(optimizer=kt.Adam(learning_rate=LR), loss=keras.losses.SparseCategoricalCrossentropy())
    return model


def train(args, strategy=None):
    """Train in this process (under `strategy`, if any); returns losses and weights."""
    x, y = data(args.smoke)
    if strategy is None:
        model = build_model()
    else:
        with strategy.scope():
            model = build_model()
    batches = kt.data.mini_batches(x, y, batch_size=GLOBAL_BATCH, seed=SEED, as_dataset=True)
    history = model.fit(batches, epochs=args.epochs, verbose=0)
    return np.asarray(history.history["loss"]), model.get_weights(), len(x) // GLOBAL_BATCH * args.epochs


def worker(args):
    strategy = kt.distribute.multi_worker_strategy()
    index = json.loads(os.environ["TF_CONFIG"])["task"]["index"]
    loss, weights, _ = train(args, strategy)
    np.savez(args.out / f"worker{index}.npz", *weights, loss=loss)
    print(f"worker {index} of {strategy.num_replicas_in_sync}: final loss {loss[-1]:.6f}")


def run_cluster(args):
    command = [sys.executable, os.path.abspath(__file__), "--worker", "--out", str(args.out), "--epochs", str(args.epochs)]
    if args.smoke:
        command.append("--smoke")
    env = dict(os.environ)
    here = os.path.dirname(os.path.abspath(__file__))
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [os.path.dirname(here), here, env.get("PYTHONPATH")]))
    start = time.monotonic()
    with kt.distribute.LocalCluster(command, args.workers, log_dir=args.out / "logs", env=env) as cluster:
        codes = cluster.wait(timeout=600)
        if codes != [0] * args.workers:
            raise SystemExit(f"a worker failed (exit codes {codes}):\n{cluster.logs_tail()}")
    print(f"{args.workers} workers finished in {time.monotonic() - start:.1f} s (logs in {args.out / 'logs'})")
    results = []
    for index in range(args.workers):
        with np.load(args.out / f"worker{index}.npz") as saved:
            results.append((saved["loss"], [saved[f"arr_{i}"] for i in range(len(saved.files) - 1)]))
    return results


def plot(args, results, single_loss):
    fig, axes = _common.figure(width=6.0, height=4.0)
    ax = axes[0, 0]
    epochs = np.arange(1, args.epochs + 1)
    for index, (loss, _) in enumerate(results):
        ax.plot(epochs, loss, marker="o", markersize=8 - 2 * min(index, 3), label=f"worker {index}")
    ax.plot(epochs, single_loss, "k--", marker="x", label="one process")
    ax.set(xlabel="epoch", ylabel="training loss", title=f"{args.workers} workers vs one process (global batch {GLOBAL_BATCH})")
    ax.legend()
    _common.save_figure(fig, args.out, FIGURES[0])


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    if "--worker" in argv:
        return worker(worker_args(argv))
    args = _common.parse_args(__doc__, "10_multi_worker", argv, configure)
    if args.workers < 1:
        raise SystemExit(f"--workers must be >= 1, got {args.workers}")
    if args.smoke:
        args.epochs = min(args.epochs, 2)
    results = run_cluster(args)
    single_loss, single_weights, steps = train(args)

    first_loss, first_weights = results[0]
    identical = all(
        np.array_equal(loss, first_loss) and all(np.array_equal(a, b) for a, b in zip(weights, first_weights))
        for loss, weights in results[1:]
    )
    weight_diff = max(float(np.max(np.abs(a - b))) for a, b in zip(first_weights, single_weights))
    loss_diff = float(np.max(np.abs(first_loss - single_loss) / single_loss))
    # Losses: float32 sums of GLOBAL_BATCH terms in another grouping differ by
    # at most GLOBAL_BATCH * eps relative. Weights: Adam moves each weight by
    # about LR per step whatever the gradient's size, so where a gradient
    # component is a near-cancelling sum its float32 rounding (which depends on
    # the summation order) can change that step by a visible fraction. A real
    # disagreement (other batches, a missing all-reduce, per-worker batch-norm
    # statistics) changes the steps themselves; rounding changes them by far
    # less than 1 % of the LR * steps a weight can move.
    weight_tol, loss_tol = 0.01 * LR * steps, GLOBAL_BATCH * EPS32
    print(f"every worker ends with the same weights (bit for bit): {identical}")
    print(f"workers vs one process: max |weight difference| {weight_diff:.2e} "
          f"({weight_diff / (LR * steps):.2%} of the most Adam can move a weight, bound 1 %), "
          f"max relative loss difference {loss_diff:.2e} (bound {loss_tol:.1e})")
    print(f"final loss: workers {first_loss[-1]:.6f}, one process {single_loss[-1]:.6f}")
    plot(args, results, single_loss)
    if not identical or weight_diff > weight_tol or loss_diff > loss_tol or not _common.finite(single_loss):
        raise SystemExit("the workers disagree with each other or with one process")


if __name__ == "__main__":
    main()

"""Optimizer paths on f(x, y) = x**2/20 + y**2 from (-7, 2): the book's figure.

    python examples/01_optimizer_paths.py [--steps 30] [--out DIR] [--smoke]

The bowl is 20 times steeper along y than along x, so the gradient hardly points
at the minimum (0, 0): plain SGD zig-zags across the valley, Momentum rolls
along it, AdaGrad damps the steep direction, Adam does both. Each path is 30
updates of a kerastools optimizer on one float64 variable (x, y), with the
book's learning rates and conventions:

* SGD:       `kt.SGD(0.95)`                                   w <- w - eta*g
* Momentum:  `kt.Momentum(1.0, beta=0.9)`, the course's EWMA form, which equals
             the book's heavy ball v <- 0.9v - 0.1g, w <- w + v
* AdaGrad:   `kt.Adagrad(1.5, initial_accumulator_value=0)`, the book's
             w <- w - eta*g/sqrt(h + 1e-7)
* Adam:      `kt.Adam(0.3)`, the book's (and Keras's) "epsilon hat" form

The script replays the book's NumPy optimizers on the same problem (with the
learning rate rounded to float32, as every Keras optimizer holds it) and prints
how far the kerastools paths are from them (float64 round-off; it stops with an
error beyond 1e-9), and where each optimizer ends. Writes `optimizer_paths.png` (contours and paths, 2 x 2).
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # before TensorFlow starts: the output is the example's own

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import _common  # noqa: E402
import kerastools as kt  # noqa: E402

FIGURES = ("optimizer_paths.png",)
START = (-7.0, 2.0)


def f(x, y):
    return x**2 / 20.0 + y**2


def book_path(update, steps):
    """The book's NumPy loop: `update(p, g, t)` changes `p` in place."""
    p = np.array(START)
    path = [p.copy()]
    for t in range(1, steps + 1):
        update(p, np.array([p[0] / 10.0, 2.0 * p[1]]), t)
        path.append(p.copy())
    return np.array(path)


def rate(value):
    """A learning rate as a Keras optimizer holds it: in a float32 variable
    (`optimizer.learning_rate`, also for float64 weights, as in Keras's own)."""
    return float(np.float32(value))


def book_optimizers():
    """The book's SGD, Momentum, AdaGrad and Adam (its classes, inlined)."""
    state = {}

    def sgd(p, g, t):
        p -= rate(0.95) * g

    def momentum(p, g, t):
        v = state.setdefault("v", np.zeros(2))
        v[:] = 0.9 * v - 0.1 * g
        p += v

    def adagrad(p, g, t):
        h = state.setdefault("h", np.zeros(2))
        h += g * g
        p -= rate(1.5) * g / np.sqrt(h + 1e-7)

    def adam(p, g, t):
        m, v = state.setdefault("m", np.zeros(2)), state.setdefault("v2", np.zeros(2))
        lr_t = rate(0.3) * np.sqrt(1.0 - 0.999**t) / (1.0 - 0.9**t)
        m += (1 - 0.9) * (g - m)
        v += (1 - 0.999) * (g**2 - v)
        p -= lr_t * m / (np.sqrt(v) + 1e-7)

    return {"SGD": sgd, "Momentum": momentum, "AdaGrad": adagrad, "Adam": adam}


def kerastools_optimizers():
    return {
        "SGD": kt.SGD(learning_rate=0.95),
        "Momentum": kt.Momentum(learning_rate=1.0, beta=0.9),
        "AdaGrad": kt.Adagrad(learning_rate=1.5, initial_accumulator_value=0.0),
        "Adam": kt.Adam(learning_rate=0.3),
    }


def kerastools_path(optimizer, steps):
    """`steps` updates of `optimizer` on the variable (x, y); the gradient comes
    from automatic differentiation of `f`."""
    w = tf.Variable(START, dtype=tf.float64)
    path = [w.numpy()]
    for _ in range(steps):
        with tf.GradientTape() as tape:
            cost = f(w[0], w[1])
        optimizer.apply([tape.gradient(cost, w)], [w])
        path.append(w.numpy())
    return np.array(path)


def plot(paths, out, filename):
    fig, axes = _common.figure(2, 2, width=4.2, height=3.6)
    x, y = np.meshgrid(np.arange(-10, 10, 0.05), np.arange(-5, 5, 0.05))
    z = f(x, y)
    z[z > 7] = 0  # the book's trick for a simple set of contour lines
    for ax, (name, path) in zip(axes.flat, paths.items()):
        ax.contour(x, y, z, levels=12, linewidths=0.7)
        ax.plot(path[:, 0], path[:, 1], "o-", color="red", markersize=3, linewidth=1)
        ax.plot(0, 0, "+", color="black", markersize=10)
        ax.set(xlim=(-10, 10), ylim=(-5, 5), xlabel="x", ylabel="y", title=name)
    fig.suptitle(f"f(x, y) = x²/20 + y² from (−7, 2): {len(path) - 1} updates")
    return _common.save_figure(fig, out, filename)


def main(argv=None):
    def configure(parser):
        parser.add_argument("--steps", type=int, default=30, help="updates per optimizer (default 30, the book's)")

    args = _common.parse_args(__doc__, "01_optimizer_paths", argv, configure)
    steps = 5 if args.smoke else args.steps
    book = book_optimizers()
    paths = {}
    print(f"{'optimizer':10} {'final (x, y)':>24} {'f(x, y)':>10} {'max |kerastools - book|':>24}")
    for name, optimizer in kerastools_optimizers().items():
        paths[name] = kerastools_path(optimizer, steps)
        gap = float(np.max(np.abs(paths[name] - book_path(book[name], steps))))
        end = paths[name][-1]
        print(f"{name:10} {f'({end[0]:+.4f}, {end[1]:+.4f})':>24} {f(*end):10.2e} {gap:24.1e}")
        if not gap < 1e-9:  # float64 round-off only
            raise SystemExit(f"{name}: the kerastools path left the book's by {gap}")
    best = min(paths, key=lambda name: f(*paths[name][-1]))
    print(f"closest to the minimum after {steps} updates: {best}")
    plot(paths, args.out, FIGURES[0])
    return {name: float(f(*path[-1])) for name, path in paths.items()}


if __name__ == "__main__":
    main()

"""Weight initialisation and the distribution of activations (the book's experiment, section 6.2.2).

    python examples/03_weight_init.py [--out DIR] [--smoke]

1,000 examples of N(0, 1) input (the notes' `np.random.randn(1000, 100)`) go
through 5 hidden layers of 100 units; the weights are drawn with

    std 1     kt.initializers.ScaledNormal(1.0)     randn * 1
    std 0.01  kt.initializers.ScaledNormal(0.01)    randn * 0.01
    Xavier    kt.initializers.XavierNormal()        randn * sqrt(1/n)
    He        kt.initializers.HeNormal()            randn * sqrt(2/n)

for sigmoid, tanh and ReLU activations. For each of the 12 networks,
`kerastools.diagnostics.activation_statistics` gives every layer's histogram,
standard deviation and fractions saturated (sigmoid, tanh) or zero (ReLU), and
`kerastools.diagnostics.gradient_norms` (random labels, a softmax output layer)
gives the ratio of the first layer's gradient norm to the last one's.

Writes `weight_init_sigmoid.png`, `weight_init_tanh.png`, `weight_init_relu.png`
(rows: initialisation, columns: layers 1-5, as in the notes' figures) and
`weight_init_std.png` (activation std per layer), and prints the tables.
Expected, as in the notes: std 1 saturates sigmoid and tanh; std 0.01 squeezes
every activation to one value; Xavier keeps sigmoid and tanh spread out; He
keeps ReLU's spread constant across layers while Xavier lets it shrink.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # before TensorFlow starts: the output is the example's own

import keras  # noqa: E402
import numpy as np  # noqa: E402

import _common  # noqa: E402
import kerastools as kt  # noqa: E402
from kerastools.diagnostics import activation_statistics, gradient_norms  # noqa: E402

FIGURES = ("weight_init_sigmoid.png", "weight_init_tanh.png", "weight_init_relu.png", "weight_init_std.png")
ACTIVATIONS = ("sigmoid", "tanh", "relu")
SEED = 0


def initializers():
    return {
        "std 1": lambda seed: kt.initializers.ScaledNormal(1.0, seed=seed),
        "std 0.01": lambda seed: kt.initializers.ScaledNormal(0.01, seed=seed),
        "Xavier": lambda seed: kt.initializers.XavierNormal(seed=seed),
        "He": lambda seed: kt.initializers.HeNormal(seed=seed),
    }


def network(make_initializer, activation, layers=5, units=100):
    hidden = [
        keras.layers.Dense(units, activation=activation, kernel_initializer=make_initializer(SEED + i), name=f"layer{i + 1}")
        for i in range(layers)
    ]
    output = keras.layers.Dense(10, activation="softmax", kernel_initializer=kt.initializers.XavierNormal(seed=SEED + layers))
    return keras.Sequential([keras.Input((units,)), *hidden, output])


def spread(stats):
    """The share of values where the activation is stuck: saturated (bounded
    activations) or exactly zero (ReLU)."""
    return stats.fraction_zero if stats.fraction_saturated is None else stats.fraction_saturated


def plot_histograms(activation, reports, out, filename):
    layers = len(next(iter(reports.values())))
    # Each panel keeps its own x range: ReLU's activations change scale by orders
    # of magnitude from layer to layer (the titles give the std).
    fig, axes = _common.figure(len(reports), layers, width=2.0, height=1.5)
    for row, (init, report) in zip(axes, reports.items()):
        for col, (ax, stats) in enumerate(zip(row, report)):
            ax.stairs(stats.histogram, stats.bin_edges, fill=True)
            if activation == "relu" and len(stats.histogram) > 1:
                # The bin at 0 holds every switched-off unit; clip it to see the rest.
                ax.set_ylim(0, 1.2 * max(1, stats.histogram[1:].max()))
            stuck = "zero" if stats.fraction_saturated is None else "sat."
            ax.set_title(f"{col + 1}-layer: std {stats.std:.2g}, {stuck} {spread(stats):.0%}", fontsize=7)
            ax.tick_params(labelsize=6)
            ax.set_yticks([])
        row[0].set_ylabel(init)
    fig.suptitle(f"{activation}: activations of each layer for four initialisations")
    return _common.save_figure(fig, out, filename)


def plot_std(all_reports, out, filename):
    fig, axes = _common.figure(1, len(all_reports), width=3.2, height=2.8)
    for ax, (activation, reports) in zip(axes[0], all_reports.items()):
        for init, report in reports.items():
            ax.plot(np.arange(1, len(report) + 1), [s.std for s in report], "o-", label=init)
        ax.set(yscale="log", xlabel="layer", ylabel="std of the activations", title=activation)
        ax.grid(True, alpha=0.3)
    axes[0][0].legend(fontsize=8)
    return _common.save_figure(fig, out, filename)


def main(argv=None):
    args = _common.parse_args(__doc__, "03_weight_init", argv)
    examples, units = (100, 20) if args.smoke else (1000, 100)
    rng = np.random.default_rng(SEED)
    x = rng.standard_normal((examples, units)).astype("float32")
    y = rng.integers(0, 10, examples)
    all_reports = {}
    for activation in ACTIVATIONS:
        reports = {}
        print(f"\n{activation}: per-layer std | fraction {'zero' if activation == 'relu' else 'saturated'} | gradient first/last")
        for init, make in initializers().items():
            model = network(make, activation, units=units)
            reports[init] = report = activation_statistics(model, x)
            grads = gradient_norms(model, x[:256], y[:256], loss="sparse_categorical_crossentropy")
            stds = " ".join(f"{s.std:8.3g}" for s in report)
            stuck = " ".join(f"{spread(s):4.2f}" for s in report)
            print(f"  {init:9} {stds} | {stuck} | {grads.first_last_ratio:.1e} ({grads.verdict})")
            if not _common.finite([s.std for s in report]):
                raise SystemExit(f"{activation}, {init}: non-finite activations")
        all_reports[activation] = reports
        plot_histograms(activation, reports, args.out, f"weight_init_{activation}.png")
    plot_std(all_reports, args.out, FIGURES[-1])
    return all_reports


if __name__ == "__main__":
    main()

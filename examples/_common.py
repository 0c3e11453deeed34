"""What every example shares: its command line, its output folder, the device it
runs on, and the bundled digits data.

Every example is a script with ``--help``, an ``--out`` folder for its PNG plots
and a ``--smoke`` mode (tiny sizes, seconds) that CI runs; without ``--smoke`` it
runs the real experiment in at most about two minutes on a CPU, and unchanged on
a GPU. Each names the PNG files it writes in a module constant ``FIGURES``, which
CI (`tests/examples/test_examples.py`) checks.
"""

import argparse
import os
import pathlib

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import matplotlib  # noqa: E402

matplotlib.use("Agg")  # examples write PNG files; no screen is needed

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402


def parse_args(doc, name, argv=None, configure=None):
    """Parse ``--out`` and ``--smoke`` (plus what `configure(parser)` adds), create
    the output folder and print the device. Returns the namespace."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=os.path.join("out", "examples", name), help="folder for the PNG plots (created)")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes: a few seconds, for CI")
    parser.add_argument("--dpi", type=float, default=100.0, help="resolution of the PNG files (default 100)")
    if configure is not None:
        configure(parser)
    args = parser.parse_args(argv)
    args.out = pathlib.Path(args.out)
    args.out.mkdir(parents=True, exist_ok=True)
    matplotlib.rcParams["savefig.dpi"] = args.dpi
    print(f"device: {device_name()}")
    return args


def device_name():
    """The device TensorFlow places work on: the first GPU if there is one."""
    gpus = tf.config.list_logical_devices("GPU")
    return (gpus or tf.config.list_logical_devices("CPU"))[0].name


def digits(images=False, seed=0):
    """scikit-learn's bundled digits, scaled to [0, 1], split 60/20/20.

    Returns ``((x_train, y_train), (x_dev, y_dev), (x_test, y_test))``; `x` is
    ``(n, 64)``, or ``(n, 8, 8, 1)`` with ``images=True``.
    """
    from sklearn.datasets import load_digits

    import kerastools as kt

    data = load_digits()
    x = (data.images / 16.0).astype("float32")
    x = x[..., None] if images else x.reshape(len(x), -1)
    y = data.target.astype("int64")
    return kt.data.train_dev_test_split(x, y, seed=seed, stratify=y)


def figure(rows=1, cols=1, *, width=4.0, height=3.0, **kwargs):
    """A ``matplotlib.figure.Figure`` with a grid of axes (``width`` x ``height``
    inches each), built without pyplot so no global figure state is kept.
    Returns ``(fig, axes)`` with `axes` a 2-D array."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width * cols, height * rows), layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False, **kwargs)
    return fig, axes


def save_figure(fig, out, filename):
    """Write `fig` as a PNG into `out` (at ``--dpi``) and say where."""
    path = pathlib.Path(out) / filename
    fig.savefig(path, bbox_inches="tight")
    print(f"wrote {path}")
    return path


def finite(values):
    """Whether every value is finite (examples check their own results)."""
    return bool(np.all(np.isfinite(np.asarray(values, dtype=np.float64))))

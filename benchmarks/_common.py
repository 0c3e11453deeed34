"""What every benchmark shares: its command line, its timers, its data and models,
and the JSON result file the docs' benchmark page is generated from.

Every benchmark is a script, ``python benchmarks/<name>.py [--quick] [--out DIR]``:

* ``--quick`` is a short run (fewer, shorter repeats) for CI and smoke checks;
* ``--out`` is the folder for ``<name>.json`` (default ``benchmarks/results``,
  the committed results; tests pass a temporary folder).

It prints its tables and writes the same tables to the JSON file::

    {"benchmark": str, "date": ISO 8601 str, "command": str,
     "machine": {"cpu": str, "cores": int, "platform": str},
     "versions": {"python": str, "tensorflow": str, "keras": str, "numpy": str, "kerastools": str},
     "tables": [{"title": str, "columns": [str], "rows": [[str | int | float | None]]}],
     "notes": str}

Ratios compare kerastools with the Keras built-in (or the named peer) measured in
the same run. Timings alternate the compared functions (ABBA order) so that load
from other processes on a shared machine hits both alike.
"""

import argparse
import datetime
import json
import math
import os
import pathlib
import platform
import shlex
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

ROOT = pathlib.Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
# A benchmark measures this checkout's kerastools, installed or not.
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

SCHEMA_KEYS = ("benchmark", "date", "command", "machine", "versions", "tables", "notes")


# --------------------------------------------------------------------------- #
# Command line
# --------------------------------------------------------------------------- #


def parser(name, doc, quick_help):
    """An ``ArgumentParser`` for ``benchmarks/<name>.py`` with ``--quick`` and ``--out``."""
    result = argparse.ArgumentParser(
        prog=f"benchmarks/{name}.py", description=doc, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    result.add_argument("--quick", action="store_true", help=quick_help)
    result.add_argument(
        "--out", type=pathlib.Path, default=RESULTS,
        help=f"folder for {name}.json (created; default benchmarks/results, the committed results)",
    )
    result.set_defaults(benchmark=name)
    return result


def parse_args(arg_parser, argv=None):
    """Parse `argv` (default ``sys.argv[1:]``); the namespace also carries the
    command line as run (``args.command``) and the load average at the start."""
    argv = sys.argv[1:] if argv is None else list(argv)
    args = arg_parser.parse_args(argv)
    args.command = shlex.join(["python", arg_parser.prog, *argv])
    args.load_at_start = _load()
    print(header())
    return args


# --------------------------------------------------------------------------- #
# Machine and versions
# --------------------------------------------------------------------------- #


def _load():
    try:
        return os.getloadavg()[0]
    except OSError:  # not available on every platform
        return float("nan")


def cpu_name():
    """The CPU's model name (from /proc/cpuinfo on Linux), else what `platform` knows."""
    try:
        for line in pathlib.Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def machine():
    return {"cpu": cpu_name(), "cores": os.cpu_count() or 1, "platform": platform.platform()}


def device():
    """The device TensorFlow places work on: the first GPU if there is one."""
    import tensorflow as tf

    gpus = tf.config.list_logical_devices("GPU")
    return (gpus or tf.config.list_logical_devices("CPU"))[0].name


def kerastools_version():
    """kerastools' version, with the checkout's commit when it is a git work tree."""
    import kerastools

    try:
        commit = subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
            capture_output=True, text=True, timeout=10, check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        commit = ""
    return f"{kerastools.__version__} ({commit})" if commit else kerastools.__version__


def versions():
    import keras
    import tensorflow as tf

    return {
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "numpy": np.__version__,
        "kerastools": kerastools_version(),
    }


def header():
    """One line: what runs where, and how busy the machine is."""
    v, m = versions(), machine()
    return (
        f"kerastools {v['kerastools']}, Keras {v['keras']}, TensorFlow {v['tensorflow']}, NumPy {v['numpy']}, "
        f"Python {v['python']}; {m['cpu']}, {m['cores']} CPUs, device {device()}; load average {_load():.2f}"
    )


# --------------------------------------------------------------------------- #
# Timing
# --------------------------------------------------------------------------- #


def timed(fn):
    """``(seconds, fn())``: wall-clock time of one call."""
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def wall_time(fn):
    """Seconds of wall-clock time one call of `fn` takes."""
    return timed(fn)[0]


def per_call(fn, calls):
    """A function that calls `fn` `calls` times and returns the seconds per call."""

    def run():
        start = time.perf_counter()
        for _ in range(calls):
            fn()
        return (time.perf_counter() - start) / calls

    return run


def interleave(functions, repeats, *, warmup=1, measure=wall_time):
    """Time each function `repeats` times, alternating their order (ABBA: the
    order reverses every repeat) after `warmup` untimed calls of each (tracing,
    compilation, caches). ``measure(fn)`` returns the seconds of one sample; by
    default the wall time of one call, or pass ``per_call``-wrapped functions and
    ``measure=lambda fn: fn()`` for functions that time themselves.

    Returns a float array of shape ``(repeats, len(functions))``.
    """
    if repeats < 1:
        raise ValueError(f"Argument `repeats` must be >= 1. Received: repeats={repeats}")
    for fn in functions:
        for _ in range(warmup):
            fn()
    samples = np.zeros((repeats, len(functions)))
    for r in range(repeats):
        order = range(len(functions)) if r % 2 == 0 else reversed(range(len(functions)))
        for i in order:
            samples[r, i] = measure(functions[i])
    return samples


def medians(samples):
    """The median of each column (function) of `interleave`'s samples."""
    return [float(v) for v in np.median(samples, axis=0)]


def bests(samples):
    """The fastest sample of each column: the least disturbed by other processes."""
    return [float(v) for v in np.min(samples, axis=0)]


def paired_ratio(samples, numerator=0, denominator=1):
    """The median of the per-repeat ratios ``samples[:, numerator] / samples[:, denominator]``:
    each pair ran back to back, so a load change between repeats cancels."""
    return float(np.median(samples[:, numerator] / samples[:, denominator]))


# --------------------------------------------------------------------------- #
# Data and models
# --------------------------------------------------------------------------- #


def digits():
    """scikit-learn's bundled digits: ``x`` float32 ``(1797, 64)`` scaled to [0, 1],
    ``y`` int64 labels. Bundled with scikit-learn, so nothing is downloaded."""
    from sklearn.datasets import load_digits

    data = load_digits()
    return (data.data / 16.0).astype("float32"), data.target.astype("int64")


def mlp(hidden=(128, 64), activation="relu", *, outputs=10, softmax=True, seed=0, dtype=None, **dense_kwargs):
    """The digits MLP, ``64 -> hidden... -> outputs`` (softmax output unless
    ``softmax=False``: logits), uncompiled, with weights drawn from `seed`.
    `dense_kwargs` go to every hidden ``Dense`` (initializer, regularizer)."""
    import keras

    keras.utils.set_random_seed(seed)
    layers = [keras.Input((64,), dtype=dtype)]
    layers += [keras.layers.Dense(units, activation=activation, dtype=dtype, **dense_kwargs) for units in hidden]
    layers.append(keras.layers.Dense(outputs, activation="softmax" if softmax else None, dtype=dtype))
    return keras.Sequential(layers)


# --------------------------------------------------------------------------- #
# Tables and the JSON result
# --------------------------------------------------------------------------- #


def table(title, columns, rows):
    """A result table: a title, column names and rows of str, int, float or None."""
    rows = [list(row) for row in rows]
    for row in rows:
        if len(row) != len(columns):
            raise ValueError(f"Table {title!r}: a row has {len(row)} cells for {len(columns)} columns: {row}")
        for cell in row:
            if not (cell is None or isinstance(cell, (str, int, float))):
                raise TypeError(f"Table {title!r}: cell {cell!r} of type {type(cell).__name__} is not str, int, float or None")
    return {"title": title, "columns": list(columns), "rows": rows}


def format_cell(value):
    """How a cell reads, in the printed table and on the docs page alike."""
    if value is None:
        return "-"
    if isinstance(value, bool) or isinstance(value, (str, int)):
        return str(value)
    if not math.isfinite(value):
        return str(value)
    magnitude = abs(value)
    if magnitude >= 1000:
        return f"{value:,.0f}"
    if magnitude >= 100:
        return f"{value:.1f}"
    if magnitude >= 0.1 or value == 0:
        return f"{value:.2f}"
    return f"{value:.3g}"


def format_table(result_table):
    """The table as aligned plain text (first column left-aligned, the rest right-aligned)."""
    lines = [[str(c) for c in result_table["columns"]]] + [[format_cell(v) for v in row] for row in result_table["rows"]]
    widths = [max(len(line[i]) for line in lines) for i in range(len(lines[0]))]

    def render(line):
        return "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(line, widths))).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([result_table["title"], render(lines[0]), rule, *map(render, lines[1:])])


def print_table(result_table):
    print("\n" + format_table(result_table), flush=True)


def _json_safe(value):
    """NaN and infinities are not JSON: they are written as null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_safe(v) for v in value]
    return value


def result(args, tables, notes=""):
    """The JSON-ready result of a run: the schema in this module's docstring."""
    load_end = _load()
    mode = "Quick mode (--quick): fewer, shorter repeats; figures are indicative. " if args.quick else ""
    load = f"Load average (1 min) {args.load_at_start:.2f} at the start, {load_end:.2f} at the end, on {os.cpu_count()} CPUs. "
    return _json_safe(
        {
            "benchmark": args.benchmark,
            "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "command": args.command,
            "machine": machine(),
            "versions": versions(),
            "tables": [table(t["title"], t["columns"], t["rows"]) for t in tables],
            "notes": (mode + load + f"TensorFlow device {device()}. " + notes).strip(),
        }
    )


def write_result(args, tables, notes=""):
    """Write ``<args.out>/<benchmark>.json`` atomically (a temporary file in the
    same folder, then renamed over the old result) and return its path."""
    data = result(args, tables, notes)
    folder = pathlib.Path(args.out)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{args.benchmark}.json"
    fd, tmp = tempfile.mkstemp(prefix=f".{args.benchmark}.", suffix=".json.tmp", dir=folder)
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(data, f, indent=1, allow_nan=False)
            f.write("\n")
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
    print(f"\nwrote {path}")
    return path


def validate(data):
    """Check a result against the schema; raises ValueError naming what is wrong."""
    if not isinstance(data, dict) or tuple(sorted(data)) != tuple(sorted(SCHEMA_KEYS)):
        raise ValueError(f"A result has the keys {SCHEMA_KEYS}. Received: {sorted(data) if isinstance(data, dict) else data!r}")
    for key in ("benchmark", "date", "command", "notes"):
        if not isinstance(data[key], str):
            raise ValueError(f"Result field `{key}` must be a string. Received: {data[key]!r}")
    datetime.datetime.fromisoformat(data["date"])
    if sorted(data["machine"]) != ["cores", "cpu", "platform"] or not isinstance(data["machine"]["cores"], int):
        raise ValueError(f"Result field `machine` must be {{cpu, cores (int), platform}}. Received: {data['machine']!r}")
    # At least these; a benchmark may add the versions of its peers (keras_tuner).
    if not {"keras", "kerastools", "numpy", "python", "tensorflow"} <= set(data["versions"]):
        raise ValueError(f"Result field `versions` has the wrong keys. Received: {sorted(data['versions'])}")
    if not isinstance(data["tables"], list) or not data["tables"]:
        raise ValueError(f"Result field `tables` must be a non-empty list. Received: {data['tables']!r}")
    for t in data["tables"]:
        if sorted(t) != ["columns", "rows", "title"]:
            raise ValueError(f"A table has the keys title, columns, rows. Received: {sorted(t)}")
        table(t["title"], t["columns"], t["rows"])
    return data

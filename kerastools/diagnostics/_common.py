"""Helpers shared by the diagnostic callbacks: sample batches, epochs, TensorBoard.

TensorBoard summaries are written with `tf.summary.write` and the metadata that
TensorBoard's scalar and histogram dashboards read (plugin names ``"scalars"``
and ``"histograms"``; a histogram is a ``[k, 3]`` float64 tensor of
``(left edge, right edge, count)`` rows). `tf.summary.scalar` and
`tf.summary.histogram` are implemented by the separate ``tensorboard`` package,
which TensorFlow no longer installs; writing the same records directly keeps the
monitors free of that dependency (TensorBoard is only needed to *view* them).
"""

import contextlib
import numbers
import os

import keras
import numpy as np
import tensorflow as tf

from kerastools._validation import check_int

_SCALAR_METADATA = tf.compat.v1.SummaryMetadata(
    plugin_data=tf.compat.v1.SummaryMetadata.PluginData(plugin_name="scalars"),
    data_class="DATA_CLASS_SCALAR",
)
_HISTOGRAM_METADATA = tf.compat.v1.SummaryMetadata(
    plugin_data=tf.compat.v1.SummaryMetadata.PluginData(plugin_name="histograms"),
    data_class="DATA_CLASS_TENSOR",
)


def _is_array_leaf(value):
    return (
        isinstance(value, (np.ndarray, np.generic, numbers.Real))
        or keras.ops.is_tensor(value)
        or tf.is_tensor(value)
    )


def sample_batch(name, value, allow_none=False):
    """Validate a fixed sample batch (an array or a list/tuple/dict of arrays, as
    `model(x)` takes) and return it as NumPy arrays of the same structure."""
    if value is None and allow_none:
        return None
    leaves = keras.tree.flatten(value) if isinstance(value, (list, tuple, dict)) else [value]
    if isinstance(value, list) and leaves and all(isinstance(v, numbers.Real) for v in leaves):
        # Nested lists of numbers are one array; a list of arrays is several inputs.
        value = np.asarray(value)
        leaves = [value]
    if not leaves or not all(_is_array_leaf(leaf) for leaf in leaves):
        raise TypeError(
            f"Argument `{name}` must be an array or a list/tuple/dict of arrays "
            f"(a fixed sample batch, not a dataset or generator). "
            f"Received: {name}={value!r:.80} of type {type(value).__name__}"
        )
    converted = keras.tree.map_structure(lambda v: np.asarray(keras.ops.convert_to_numpy(v)), value)
    for leaf in keras.tree.flatten(converted):
        if leaf.ndim == 0 or leaf.shape[0] == 0:
            raise ValueError(
                f"Argument `{name}` must hold at least one example along its first "
                f"axis. Received: {name} with shape {leaf.shape}"
            )
    return converted


@contextlib.contextmanager
def state_preserved(model, active=True):
    """Restore `model`'s non-trainable variables on exit.

    A forward pass in training mode updates batch normalisation's moving
    statistics and advances the dropout layers' seed-generator states; a
    diagnostic must leave training exactly as it would be without it.
    """
    saved = [(v, keras.ops.convert_to_numpy(v)) for v in model.non_trainable_variables] if active else []
    try:
        yield
    finally:
        for variable, value in saved:
            variable.assign(value)


def serialize_batch(value):
    """A JSON-ready form of a sample batch (Keras's own ``__numpy__`` encoding)."""
    return None if value is None else keras.saving.serialize_keras_object(value)


def deserialize_batch(config):
    return None if config is None else keras.saving.deserialize_keras_object(config)


def check_freq(freq):
    return check_int("freq", freq, low=1)


def is_due(epoch, freq):
    """Whether the 0-based `epoch` is one of every `freq`-th (the last of each block)."""
    return (epoch + 1) % freq == 0


class SummaryWriter:
    """Scalars and histograms for TensorBoard, written to one log directory."""

    def __init__(self, log_dir):
        self._writer = tf.summary.create_file_writer(str(log_dir))

    def write(self, step, scalars=(), histograms=()):
        """Write ``(tag, value)`` scalars and ``(tag, counts, edges)`` histograms
        (``counts[i]`` values in ``[edges[i], edges[i + 1])``) at `step`, then flush."""
        with self._writer.as_default(step=int(step)):
            for tag, value in scalars:
                tf.summary.write(tag, tf.constant(float(value), tf.float32), metadata=_SCALAR_METADATA)
            for tag, counts, edges in histograms:
                edges = np.asarray(edges, np.float64)
                buckets = np.stack([edges[:-1], edges[1:], np.asarray(counts, np.float64)], axis=1)
                tf.summary.write(tag, tf.constant(buckets), metadata=_HISTOGRAM_METADATA)
        self._writer.flush()

    def close(self):
        self._writer.close()


def check_log_dir(log_dir):
    if log_dir is None:
        return None
    if not isinstance(log_dir, (str, bytes)) and not hasattr(log_dir, "__fspath__"):
        raise TypeError(
            f"Argument `log_dir` must be a path or None. Received: log_dir={log_dir!r} "
            f"of type {type(log_dir).__name__}"
        )
    return os.fsdecode(os.fspath(log_dir))

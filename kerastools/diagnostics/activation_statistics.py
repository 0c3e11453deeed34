"""Per-layer activation statistics on a batch: the weight-initialisation experiment of the course."""

import keras
import numpy as np

from kerastools.diagnostics import _common
from kerastools.diagnostics.records import ActivationReport, ActivationStats
from kerastools._validation import check_bool, check_int, check_number

# Output ranges of the bounded activations; near either bound the derivative
# vanishes (sigmoid' = a(1 - a), tanh' = 1 - a**2): "saturated".
BOUNDS = {
    "sigmoid": (0.0, 1.0),
    "hard_sigmoid": (0.0, 1.0),
    "tanh": (-1.0, 1.0),
    "hard_tanh": (-1.0, 1.0),
    "softsign": (-1.0, 1.0),
}
# Layers that are an activation in themselves.
_ACTIVATION_LAYERS = {
    keras.layers.ReLU: "relu",
    keras.layers.LeakyReLU: "leaky_relu",
    keras.layers.ELU: "elu",
    keras.layers.PReLU: "prelu",
    keras.layers.Softmax: "softmax",
}


def activation_name(layer):
    """The name of `layer`'s activation (``"linear"`` when it has none)."""
    for cls, name in _ACTIVATION_LAYERS.items():
        if isinstance(layer, cls):
            return name
    fn = getattr(layer, "activation", None)
    if not callable(fn):
        return "linear"
    name = keras.activations.serialize(fn)
    return name if isinstance(name, str) else getattr(fn, "__name__", type(fn).__name__)


def _has_inputs(model):
    try:
        return bool(model.inputs)
    except AttributeError:  # an unbuilt Sequential model, a subclassed model
        return False


def _check_model(model, x=None):
    if isinstance(model, keras.Sequential) and not model.built and isinstance(x, np.ndarray):
        # What Keras itself does at the first call: build on the batch's shape.
        model.build((None, *x.shape[1:]))
    if not isinstance(model, keras.Model) or not _has_inputs(model):
        raise ValueError(
            "Activation statistics need a Functional or Sequential model with defined "
            "inputs (start it with `keras.Input(shape)`, or build it); a subclassed "
            f"model has no per-layer outputs to read. Received: model={model!r}"
        )


def default_layers(model):
    """Hidden layers with a non-linear activation (the model's output layers excluded)."""
    outputs = {id(t) for t in keras.tree.flatten(model.outputs)}
    chosen = []
    for layer in model.layers:
        if activation_name(layer) == "linear":
            continue
        if any(id(t) in outputs for t in keras.tree.flatten(layer.output)):
            continue
        chosen.append(layer)
    return chosen


def check_layers(layers):
    """Validate the `layers` argument: `None` or a list of layer names / layers.
    Returns a tuple of names (or `None`)."""
    if layers is None:
        return None
    if isinstance(layers, (str, keras.layers.Layer)):
        layers = [layers]
    if not isinstance(layers, (list, tuple)) or not layers or not all(
        isinstance(layer, (str, keras.layers.Layer)) for layer in layers
    ):
        raise TypeError(
            f"Argument `layers` must be None or a non-empty list of layer names or layers. "
            f"Received: layers={layers!r}"
        )
    return tuple(layer if isinstance(layer, str) else layer.name for layer in layers)


def resolve_layers(model, names, x=None):
    """The chosen layers of `model` (building an unbuilt Sequential on `x`)."""
    _check_model(model, x)
    if names is None:
        layers = default_layers(model)
        if not layers:
            raise ValueError(
                "The model has no hidden layer with a non-linear activation; "
                f"choose layers with `layers=`. Its layers: {[l.name for l in model.layers]}"
            )
        return layers
    by_name = {layer.name: layer for layer in model.layers}
    unknown = [name for name in names if name not in by_name]
    if unknown:
        raise ValueError(
            f"Argument `layers` names layers the model does not have: {unknown}. "
            f"Its layers: {list(by_name)}. Received: layers={list(names)}"
        )
    return [by_name[name] for name in names]


def build_extractor(model, layers):
    """A model from `model`'s inputs to each chosen layer's output (one forward pass)."""
    outputs = {}
    for layer in layers:
        # A layer called several times (shared) is read at its first call.
        output = layer.output
        if isinstance(output, (list, tuple, dict)):
            raise ValueError(
                f"Argument `layers` must name layers with a single output; layer "
                f"{layer.name!r} has {len(output)}. Received: layers including {layer.name!r}"
            )
        outputs[layer.name] = output
    try:
        inputs = model.input  # the model's own structure (list, dict) of inputs
    except (AttributeError, ValueError):
        # A Sequential model that was never called has `inputs` only.
        inputs = model.inputs[0] if len(model.inputs) == 1 else model.inputs
    return keras.Model(inputs, outputs)


def summarize(layer, activation, values, *, bins, histogram_range, saturation_tolerance,
              max_saturated_fraction, max_dead_fraction):
    """`ActivationStats` of one layer's activations (an array, batch axis first)."""
    values = np.asarray(values, np.float64)
    is_finite = np.isfinite(values)
    finite = values.ravel() if is_finite.all() else values[is_finite]
    zeros = values == 0
    units = zeros.reshape(-1, zeros.shape[-1]) if zeros.ndim >= 2 else zeros.reshape(-1, 1)
    bounds = BOUNDS.get(activation)
    saturated = None
    if bounds is not None:
        low, high = bounds
        near = (finite <= low + saturation_tolerance) | (finite >= high - saturation_tolerance)
        saturated = float(np.mean(near)) if finite.size else 0.0
    if histogram_range is None:
        histogram_range = bounds or ((finite.min(), finite.max()) if finite.size else (0.0, 1.0))
    counts, edges = np.histogram(finite, bins=bins, range=histogram_range)
    fraction_dead = float(np.mean(units.all(axis=0)))
    return ActivationStats(
        layer=layer,
        activation=activation,
        mean=float(finite.mean()) if finite.size else float("nan"),
        std=float(finite.std()) if finite.size else float("nan"),
        fraction_zero=float(np.mean(zeros)),
        fraction_dead=fraction_dead,
        fraction_saturated=saturated,
        fraction_nonfinite=1.0 - finite.size / values.size,
        histogram=counts,
        bin_edges=edges,
        saturated=saturated is not None and saturated > max_saturated_fraction,
        dead=fraction_dead > max_dead_fraction,
    )


def layer_activations(model, x, *, layers=None, training=False):
    """Each chosen layer's activations on the batch `x`, from one forward pass.

    Args:
        model: a Functional or Sequential model (with defined inputs).
        x: the input batch.
        layers: layer names or layers; `None` for every hidden layer with a
            non-linear activation. Defaults to `None`.
        training: run the forward pass in training mode (dropout on, batch
            normalisation on batch statistics); the model's moving statistics
            and seed states are restored afterwards. Defaults to `False`.

    Returns:
        A dict layer name -> NumPy array of shape ``(batch, *units)``, in layer order.

    Example:

    >>> keras.utils.set_random_seed(0)
    >>> model = keras.Sequential([
    ...     keras.Input((100,)),
    ...     keras.layers.Dense(100, activation="sigmoid", name="hidden_1"),
    ...     keras.layers.Dense(100, activation="sigmoid", name="hidden_2"),
    ...     keras.layers.Dense(10, activation="softmax", name="out"),
    ... ])
    >>> acts = kt.diagnostics.layer_activations(model, np.random.default_rng(0).standard_normal((1000, 100)))
    >>> {name: a.shape for name, a in acts.items()}
    {'hidden_1': (1000, 100), 'hidden_2': (1000, 100)}

    The course's histograms are then
    ``plt.hist(acts["hidden_1"].flatten(), 30, range=(0, 1))``.
    """
    x = _common.sample_batch("x", x)
    chosen = resolve_layers(model, check_layers(layers), x)
    training = check_bool("training", training)
    with _common.state_preserved(model, training):
        outputs = build_extractor(model, chosen)(x, training=training)
    return {layer.name: keras.ops.convert_to_numpy(outputs[layer.name]) for layer in chosen}


def _check_histogram_range(histogram_range):
    if histogram_range is None:
        return None
    ok = isinstance(histogram_range, (tuple, list)) and len(histogram_range) == 2
    if ok:
        low = check_number("histogram_range[0]", histogram_range[0])
        high = check_number("histogram_range[1]", histogram_range[1])
        ok = low < high
    if not ok:
        raise ValueError(
            f"Argument `histogram_range` must be None or a pair (low, high) with low < high. "
            f"Received: histogram_range={histogram_range!r}"
        )
    return (low, high)


def check_statistics_args(bins, histogram_range, saturation_tolerance, max_saturated_fraction, max_dead_fraction):
    return dict(
        bins=check_int("bins", bins, low=1),
        histogram_range=_check_histogram_range(histogram_range),
        saturation_tolerance=check_number("saturation_tolerance", saturation_tolerance, low=0.0, high=0.5, high_inclusive=False),
        max_saturated_fraction=check_number("max_saturated_fraction", max_saturated_fraction, low=0.0, high=1.0),
        max_dead_fraction=check_number("max_dead_fraction", max_dead_fraction, low=0.0, high=1.0),
    )


def statistics_from_activations(activations, names, options, epoch=None):
    stats = {
        layer: summarize(layer, names[layer], values, **options) for layer, values in activations.items()
    }
    return ActivationReport(layers=stats, epoch=epoch)


def activation_statistics(
    model,
    x,
    *,
    layers=None,
    training=False,
    bins=30,
    histogram_range=None,
    saturation_tolerance=0.01,
    max_saturated_fraction=0.25,
    max_dead_fraction=0.25,
):
    """Per-layer activation statistics and histograms on the batch `x`, without `fit`.

    For each chosen layer, over every value ``a`` of its activations on `x`:
    mean and standard deviation; the fraction **saturated**, ``a <= lo + tol`` or
    ``a >= hi - tol`` for an activation with range ``[lo, hi]`` (sigmoid
    ``[0, 1]``, tanh ``[-1, 1]``; where the derivative vanishes); the fraction of
    **zeros** (ReLU off); the fraction of **dead units**, units (entries of the
    last axis) that are 0 for every example of the batch; and a histogram.

    Args:
        model: a Functional or Sequential model (with defined inputs).
        x: the input batch.
        layers: layer names or layers; `None` for every hidden layer with a
            non-linear activation. Defaults to `None`.
        training: forward pass in training mode. Defaults to `False`.
        bins: number of histogram bins. Defaults to `30`.
        histogram_range: ``(low, high)`` of the histogram; `None` for the
            activation's range when bounded, else the data's. Defaults to `None`.
        saturation_tolerance: ``tol`` above, in [0, 0.5). Defaults to `0.01`.
        max_saturated_fraction: a layer is flagged ``saturated`` above this
            fraction. Defaults to `0.25`.
        max_dead_fraction: a layer is flagged ``dead`` above this fraction of dead
            units. Defaults to `0.25`.

    Returns:
        An `ActivationReport`: layer name -> `ActivationStats`; ``print(report)``
        shows a table.

    Example:

    >>> keras.utils.set_random_seed(0)
    >>> wide = kt.initializers.ScaledNormal(stddev=1.0, seed=0)  # N(0, 1): too large
    >>> model = keras.Sequential([
    ...     keras.Input((100,)),
    ...     keras.layers.Dense(100, activation="sigmoid", kernel_initializer=wide, name="hidden_1"),
    ...     keras.layers.Dense(100, activation="sigmoid", kernel_initializer=wide, name="hidden_2"),
    ...     keras.layers.Dense(10, activation="softmax", name="out"),
    ... ])
    >>> report = kt.diagnostics.activation_statistics(model, np.random.default_rng(0).standard_normal((1000, 100)))
    >>> report.saturated_layers
    ['hidden_1', 'hidden_2']
    >>> s = report["hidden_1"]
    >>> s.activation, len(s.histogram), s.bin_edges[[0, -1]]
    ('sigmoid', 30, array([0., 1.]))

    ``plt.stairs(s.histogram, s.bin_edges)`` draws the course's histogram.
    """
    options = check_statistics_args(bins, histogram_range, saturation_tolerance, max_saturated_fraction, max_dead_fraction)
    x = _common.sample_batch("x", x)
    chosen = resolve_layers(model, check_layers(layers), x)
    activations = layer_activations(model, x, layers=chosen, training=training)
    names = {layer.name: activation_name(layer) for layer in chosen}
    return statistics_from_activations(activations, names, options)

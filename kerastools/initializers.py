"""Weight initializers of the course: He, Xavier, Glorot-Bengio, LeCun, small Gaussian.

Every initializer draws ``W ~ D(0, sigma**2)`` with ``sigma = sqrt(scale / n)``: the
course's ``np.random.randn(shape) * np.sqrt(u / n)``, with ``u = scale`` (2 for ReLU,
1 for tanh) and ``n`` the fan chosen by `mode`.

Note:
    The course draws from a **plain** normal distribution, and so do these
    classes by default. Keras's `HeNormal`/`GlorotNormal` draw from a normal
    truncated at two standard deviations (rescaled by 1/0.8796 so the variance is
    still ``scale / n``); pass ``distribution="truncated_normal"`` (or
    ``truncated=True`` to the named classes) to get Keras's behaviour.

Note:
    What the course calls "Xavier" is ``N(0, 1/n_in)`` (`XavierNormal`, the same
    variance as `LeCunNormal`), while Keras's "Glorot" is ``N(0, 2/(n_in+n_out))``
    (`GlorotNormal` here). Some course notes write He's standard deviation as
    ``2/sqrt(n)``; the variance ``2/n`` (standard deviation ``sqrt(2/n)``) of He et
    al. (2015), which the book (section 6.2.3) states, is what is implemented.
"""

import math

import keras
import numpy as np

from kerastools._registry import register
from kerastools._validation import check_bool, check_choice, check_number, check_seed

__all__ = [
    "VarianceScaling",
    "HeNormal",
    "HeUniform",
    "XavierNormal",
    "XavierUniform",
    "GlorotNormal",
    "GlorotUniform",
    "LeCunNormal",
    "ScaledNormal",
    "compute_fans",
]

_MODES = ("fan_in", "fan_out", "fan_avg")
# "untruncated_normal" is Keras's spelling of the plain normal; accepted so that a
# Keras VarianceScaling config can be moved over unchanged.
_DISTRIBUTIONS = ("normal", "truncated_normal", "untruncated_normal", "uniform")
# Standard deviation of a unit normal truncated to [-2, 2]; dividing by it keeps
# the variance of the truncated draw equal to the target (as Keras does).
_TRUNCATED_STD = 0.87962566103423978


def compute_fans(shape):
    """Return ``(fan_in, fan_out)`` for a kernel of the given shape.

    Dense kernels are ``(n_in, n_out)``. Convolution kernels are
    ``(*spatial, in_channels, out_channels)`` and count the receptive field:
    ``fan_in = prod(spatial) * in_channels`` and
    ``fan_out = prod(spatial) * out_channels``. A 1-D shape uses its length for
    both; a scalar uses 1.

    Example:

    >>> compute_fans((3, 3, 16, 32))
    (144, 288)
    """
    shape = tuple(int(d) for d in shape)
    if len(shape) == 0:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    if len(shape) == 2:
        return shape[0], shape[1]
    receptive_field = int(np.prod(shape[:-2]))
    return receptive_field * shape[-2], receptive_field * shape[-1]


@register
class VarianceScaling(keras.initializers.Initializer):
    """Draws weights with variance ``scale / n``: the course's general ``sqrt(u / n)`` rule.

    ``n`` is ``fan_in`` (``n^[l-1]``, the course), ``fan_out``, or
    ``(fan_in + fan_out) / 2`` (``fan_avg``), computed by `compute_fans`
    (receptive field times channels for convolution kernels).

    - ``distribution="normal"``: ``W ~ N(0, scale / n)`` (the course).
    - ``distribution="truncated_normal"``: a normal truncated at two standard
      deviations, rescaled so that the variance is still ``scale / n`` (Keras).
    - ``distribution="uniform"``: ``W ~ U(-limit, limit)`` with
      ``limit = sqrt(3 * scale / n)``, which has variance ``scale / n``.

    Args:
        scale: the course's ``u`` (2 for ReLU, 1 for tanh). Must be > 0.
            Defaults to `1.0`.
        mode: ``"fan_in"``, ``"fan_out"`` or ``"fan_avg"``. Defaults to `"fan_in"`.
        distribution: ``"normal"``, ``"truncated_normal"`` or ``"uniform"``
            (``"untruncated_normal"`` is accepted as Keras's name for ``"normal"``).
            Defaults to `"normal"`.
        seed: `None` (a fresh draw at every call) or a non-negative integer
            (the same values at every call with the same shape, as in Keras).
            Defaults to `None`.

    Example:

    >>> init = VarianceScaling(scale=2.0, mode="fan_in", seed=0)
    >>> w = init((784, 100))   # He initialisation: std = sqrt(2 / 784)

    References:
        He et al., 2015, https://arxiv.org/abs/1502.01852;
        Glorot & Bengio, 2010, https://proceedings.mlr.press/v9/glorot10a.html
    """

    def __init__(self, scale=1.0, mode="fan_in", distribution="normal", seed=None):
        self.scale = check_number("scale", scale, low=0.0, low_inclusive=False)
        self.mode = check_choice("mode", mode, _MODES)
        self.distribution = check_choice("distribution", distribution, _DISTRIBUTIONS)
        self.seed = check_seed("seed", seed)

    def stddev(self, shape):
        """The target standard deviation ``sqrt(scale / n)`` for a kernel of `shape`."""
        fan_in, fan_out = compute_fans(shape)
        n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2.0}[self.mode]
        return math.sqrt(self.scale / max(1.0, n))

    def __call__(self, shape, dtype=None):
        dtype = dtype or keras.config.floatx()
        std = self.stddev(shape)
        if self.distribution == "uniform":
            limit = math.sqrt(3.0) * std
            return keras.random.uniform(shape, -limit, limit, dtype=dtype, seed=self.seed)
        if self.distribution == "truncated_normal":
            return keras.random.truncated_normal(
                shape, 0.0, std / _TRUNCATED_STD, dtype=dtype, seed=self.seed
            )
        return keras.random.normal(shape, 0.0, std, dtype=dtype, seed=self.seed)

    def get_config(self):
        return {
            "scale": self.scale,
            "mode": self.mode,
            "distribution": self.distribution,
            "seed": self.seed,
        }


class _NamedVarianceScaling(VarianceScaling):
    """A `VarianceScaling` with fixed scale, mode and family; only the seed and,
    for normal families, truncation are free."""

    _scale = 1.0
    _mode = "fan_in"
    _uniform = False

    def __init__(self, seed=None, truncated=False):
        self.truncated = check_bool("truncated", truncated)
        if self._uniform and truncated:
            raise ValueError(
                f"Argument `truncated` applies to normal distributions only; "
                f"{type(self).__name__} is uniform. Received: truncated={truncated!r}"
            )
        if self._uniform:
            distribution = "uniform"
        else:
            distribution = "truncated_normal" if truncated else "normal"
        super().__init__(self._scale, self._mode, distribution, seed)

    def get_config(self):
        if self._uniform:
            return {"seed": self.seed}
        return {"seed": self.seed, "truncated": self.truncated}


@register
class HeNormal(_NamedVarianceScaling):
    """He initialisation ``N(0, 2 / n_in)`` for ReLU layers (``u = 2`` in the course).

    Args:
        seed: `None` or a non-negative integer. Defaults to `None`.
        truncated: draw from Keras's truncated normal instead of the course's
            plain normal. Defaults to `False`.

    Example:

    >>> layer = keras.layers.Dense(64, activation="relu", kernel_initializer=HeNormal(seed=1))

    Note:
        ``keras.initializers.HeNormal`` is ``HeNormal(truncated=True)``.
    """

    _scale = 2.0


@register
class HeUniform(_NamedVarianceScaling):
    """He uniform: ``U(-sqrt(6 / n_in), sqrt(6 / n_in))``, variance ``2 / n_in``.

    Args:
        seed: `None` or a non-negative integer. Defaults to `None`.
    """

    _scale = 2.0
    _uniform = True

    def __init__(self, seed=None):
        super().__init__(seed=seed)


@register
class XavierNormal(_NamedVarianceScaling):
    """The course's "Xavier" initialisation ``N(0, 1 / n_in)`` for tanh/sigmoid layers.

    Args:
        seed: `None` or a non-negative integer. Defaults to `None`.
        truncated: truncated instead of plain normal. Defaults to `False`.

    Note:
        Keras's ``GlorotNormal`` (``2 / (n_in + n_out)``) is `GlorotNormal` here.
    """


@register
class XavierUniform(_NamedVarianceScaling):
    """Uniform counterpart of `XavierNormal`: variance ``1 / n_in``.

    Args:
        seed: `None` or a non-negative integer. Defaults to `None`.
    """

    _uniform = True

    def __init__(self, seed=None):
        super().__init__(seed=seed)


@register
class GlorotNormal(_NamedVarianceScaling):
    """Glorot & Bengio: ``N(0, 2 / (n_in + n_out))``.

    Args:
        seed: `None` or a non-negative integer. Defaults to `None`.
        truncated: truncated (Keras's choice) instead of plain normal.
            Defaults to `False`.
    """

    _mode = "fan_avg"


@register
class GlorotUniform(_NamedVarianceScaling):
    """Glorot uniform: ``U(-sqrt(6 / (n_in + n_out)), sqrt(6 / (n_in + n_out)))``.

    Args:
        seed: `None` or a non-negative integer. Defaults to `None`.
    """

    _mode = "fan_avg"
    _uniform = True

    def __init__(self, seed=None):
        super().__init__(seed=seed)


@register
class LeCunNormal(_NamedVarianceScaling):
    """LeCun: ``N(0, 1 / n_in)`` (the same variance as the course's Xavier).

    Args:
        seed: `None` or a non-negative integer. Defaults to `None`.
        truncated: truncated (Keras's choice) instead of plain normal.
            Defaults to `False`.
    """


@register
class ScaledNormal(keras.initializers.Initializer):
    """A small Gaussian ``N(0, stddev**2)``: the course's ``np.random.randn(shape) * 0.01``.

    Args:
        stddev: standard deviation, > 0. Defaults to `0.01`.
        seed: `None` or a non-negative integer. Defaults to `None`.

    Example:

    >>> w = ScaledNormal(stddev=0.01, seed=0)((100, 100))
    """

    def __init__(self, stddev=0.01, seed=None):
        self.stddev = check_number("stddev", stddev, low=0.0, low_inclusive=False)
        self.seed = check_seed("seed", seed)

    def __call__(self, shape, dtype=None):
        dtype = dtype or keras.config.floatx()
        return keras.random.normal(shape, 0.0, self.stddev, dtype=dtype, seed=self.seed)

    def get_config(self):
        return {"stddev": self.stddev, "seed": self.seed}

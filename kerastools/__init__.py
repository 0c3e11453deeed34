"""kerastools: verified, fast, serialisable components for Keras 3.

Optimizers, learning-rate schedules, layers, initializers, regularizers and
gradient checking that drop into `keras` / `tf.keras`.
"""

from kerastools import (
    callbacks,
    data,
    diagnostics,
    distribute,
    gradcheck,
    initializers,
    layers,
    optimizers,
    regularizers,
    saving,
    schedules,
    tuning,
)
from kerastools.optimizers import *  # noqa: F401,F403 - `kerastools.Adam` etc.
from kerastools.optimizers import __all__ as _optimizer_names
from kerastools._version import __version__

__all__ = [
    "__version__",
    "callbacks",
    "data",
    "diagnostics",
    "distribute",
    "gradcheck",
    "initializers",
    "layers",
    "optimizers",
    "regularizers",
    "saving",
    "schedules",
    "tuning",
    *_optimizer_names,
]

"""kerastools: verified, fast, serialisable components for Keras 3.

Optimizers, learning-rate schedules, layers, initializers, regularizers and
gradient checking that drop into `keras` / `tf.keras`.
"""

from kerastools import gradcheck, initializers, layers, optimizers, regularizers, schedules
from kerastools.optimizers import *  # noqa: F401,F403 - `kerastools.Adam` etc.
from kerastools.optimizers import __all__ as _optimizer_names

__version__ = "0.1.0"

__all__ = [
    "gradcheck",
    "initializers",
    "layers",
    "optimizers",
    "regularizers",
    "schedules",
    *_optimizer_names,
]

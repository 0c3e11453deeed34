"""kerastools: verified, fast, serialisable components for Keras 3.

Optimizers, learning-rate schedules, layers, initializers, regularizers,
gradient checking, saving, data utilities, hyperparameter search and
diagnostics that drop into `keras` / `tf.keras`.

In the docstrings, "the course" is Andrew Ng's *Improving Deep Neural
Networks: Hyperparameter Tuning, Regularization and Optimization*
(deeplearning.ai, Coursera, 2017) and "the book" is Koki Saito's *Deep
Learning from Scratch* (O'Reilly Japan, 2016), chapter 6 (chapter 7 for
convolution and pooling); docs/conventions.md says which parts of each
kerastools follows and where it differs.
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

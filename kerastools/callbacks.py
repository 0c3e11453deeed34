"""Keras callbacks: learning-rate logging and plateaus, HDF5 checkpoints, training monitors.

Only callbacks live here; the diagnostics functions and their records are in
`kerastools.diagnostics`.
"""

from kerastools.diagnostics import ActivationMonitor, BiasVarianceMonitor, GradientNormMonitor
from kerastools.saving import HDF5Checkpoint
from kerastools.schedules._callbacks import LearningRateLogger, ReduceLROnPlateau

__all__ = [
    "LearningRateLogger",
    "ReduceLROnPlateau",
    "HDF5Checkpoint",
    "ActivationMonitor",
    "BiasVarianceMonitor",
    "GradientNormMonitor",
]

"""Keras callbacks: learning-rate logging and plateaus, HDF5 checkpoints, diagnostics."""

from kerastools._checkpoint import HDF5Checkpoint
from kerastools.schedules._callbacks import LearningRateLogger, ReduceLROnPlateau
from kerastools._diagnostics import (
    ActivationMonitor,
    ActivationReport,
    ActivationStats,
    BiasVarianceDiagnosis,
    BiasVarianceMonitor,
    GradientNormMonitor,
    GradientNormReport,
    activation_statistics,
    diagnose_bias_variance,
    gradient_norms,
    layer_activations,
)

__all__ = [
    # learning-rate schedules (issue 3)
    "LearningRateLogger",
    "ReduceLROnPlateau",
    # saving (issue 5)
    "HDF5Checkpoint",
    # diagnostics (issue 7)
    "ActivationMonitor",
    "ActivationReport",
    "ActivationStats",
    "BiasVarianceDiagnosis",
    "BiasVarianceMonitor",
    "GradientNormMonitor",
    "GradientNormReport",
    "activation_statistics",
    "diagnose_bias_variance",
    "gradient_norms",
    "layer_activations",
]

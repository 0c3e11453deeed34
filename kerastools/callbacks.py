"""Keras callbacks: learning-rate logging and plateaus, HDF5 checkpoints, diagnostics."""

from kerastools._diagnostics import (  # diagnostics (issue 7)
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

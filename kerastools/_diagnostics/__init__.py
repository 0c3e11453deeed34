"""Diagnostics of the course: bias/variance, activation statistics, gradient norms.

Public names are re-exported by `kerastools.callbacks`.
"""

from kerastools._diagnostics.activation_monitor import ActivationMonitor
from kerastools._diagnostics.activation_statistics import activation_statistics, layer_activations
from kerastools._diagnostics.bias_variance import BiasVarianceMonitor, diagnose_bias_variance
from kerastools._diagnostics.gradient_monitor import GradientNormMonitor
from kerastools._diagnostics.gradient_statistics import gradient_norms
from kerastools._diagnostics.records import (
    ActivationReport,
    ActivationStats,
    BiasVarianceDiagnosis,
    GradientNormReport,
)

__all__ = [
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

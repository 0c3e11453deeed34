"""Training diagnostics: bias/variance, activation statistics, gradient norms.

Functions (`diagnose_bias_variance`, `activation_statistics`, `gradient_norms`,
`layer_activations`), the records they return, and the three monitoring
callbacks, which `kerastools.callbacks` re-exports.
"""

from kerastools.diagnostics.activation_monitor import ActivationMonitor
from kerastools.diagnostics.activation_statistics import activation_statistics, layer_activations
from kerastools.diagnostics.bias_variance import BiasVarianceMonitor, diagnose_bias_variance
from kerastools.diagnostics.gradient_monitor import GradientNormMonitor
from kerastools.diagnostics.gradient_statistics import gradient_norms
from kerastools.diagnostics.records import (
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

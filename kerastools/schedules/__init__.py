"""kerastools.schedules: learning-rate schedules of the course, of TensorFlow 1 and beyond.

Every schedule subclasses `keras.optimizers.schedules.LearningRateSchedule`,
computes in float64 and returns float32, and serialises to plain Python values.
"""

from kerastools.schedules.cosine import CosineDecay, LinearCosineDecay, NoisyLinearCosineDecay
from kerastools.schedules.cosine_restarts import CosineDecayRestarts
from kerastools.schedules.cyclical import CyclicalLearningRate
from kerastools.schedules.exponential import ExponentialDecay, NaturalExpDecay
from kerastools.schedules.inverse_time import InverseTimeDecay
from kerastools.schedules.one_cycle import OneCycle
from kerastools.schedules.piecewise import PiecewiseConstantDecay
from kerastools.schedules.plot import plot
from kerastools.schedules.polynomial import PolynomialDecay
from kerastools.schedules.scaled import ScaledSchedule
from kerastools.schedules.sequential import Sequential
from kerastools.schedules.warmup import Warmup

__all__ = [
    "InverseTimeDecay",
    "PiecewiseConstantDecay",
    "ExponentialDecay",
    "NaturalExpDecay",
    "PolynomialDecay",
    "CosineDecay",
    "LinearCosineDecay",
    "NoisyLinearCosineDecay",
    "CosineDecayRestarts",
    "Warmup",
    "CyclicalLearningRate",
    "OneCycle",
    "Sequential",
    "ScaledSchedule",
    "plot",
]

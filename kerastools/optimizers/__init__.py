"""kerastools.optimizers: SGD, Momentum, Adagrad, RMSprop, Adam and AdamW.

Keras optimizers (subclasses of `keras.optimizers.Optimizer`) that update through
TensorFlow's fused training kernels where the maths matches, and through
`keras.ops` elsewhere. With default arguments `SGD`, `Adagrad`, `RMSprop`, `Adam`
and `AdamW` compute what their Keras namesakes compute; the course's other
conventions (epsilon inside the square root, exponentially weighted momentum)
are arguments.
"""

from kerastools.optimizers.adagrad import Adagrad
from kerastools.optimizers.adam import Adam, AdamW
from kerastools.optimizers.momentum import Momentum
from kerastools.optimizers.rmsprop import RMSprop
from kerastools.optimizers.sgd import SGD

__all__ = ["SGD", "Momentum", "Adagrad", "RMSprop", "Adam", "AdamW"]

"""kerastools.layers: the course's and the book's layers as Keras layers, gradient-checked.

`Dropout` (inverted, `rate` or `keep_prob`), `BatchNormalization` (hand-derived
backward pass), `Conv2D` (TensorFlow's kernels or the book's im2col),
`MaxPooling2D`, `AveragePooling2D` and a numerically stable, maskable `Softmax`.
"""

from kerastools.layers.batch_normalization import BatchNormalization
from kerastools.layers.conv2d import Conv2D
from kerastools.layers.dropout import Dropout
from kerastools.layers.pooling import AveragePooling2D, MaxPooling2D
from kerastools.layers.softmax import Softmax

__all__ = [
    "AveragePooling2D",
    "BatchNormalization",
    "Conv2D",
    "Dropout",
    "MaxPooling2D",
    "Softmax",
]

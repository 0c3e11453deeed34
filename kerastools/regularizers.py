"""Weight regularizers: L2 ("weight decay"), L1 and L1L2, with the course's lambda/(2m).

How the course's cost maps onto Keras
-------------------------------------
The course writes the regularised cost over ``m`` training examples as::

    J = (1 / m) * sum_i L(y_hat_i, y_i) + lambd / (2 * m) * sum_l ||W_l||_F ** 2

so the gradient gains the tail ``(lambd / m) * W``. Keras adds ``l2 * sum(W ** 2)``
to the **per-batch mean** loss. The per-batch mean is an unbiased estimate of
``(1 / m) * sum_i L``, so with ``l2 = lambd / (2 * m)`` (``m`` = number of
*training examples*, not the batch size) every mini-batch step follows the
gradient of the course's ``J``; with full-batch training the two are identical.
`L2.from_course(lambd, m)` does the conversion::

    reg = L2.from_course(lambd=0.7, num_examples=60000)   # l2 = 0.7 / 120000

The course's L1 tail is written ``lambd / (2 * m) * ||w||_1`` in one place and
``lambd / m * ||w||_1`` in another ("whether the denominator is m or 2m, it is a
constant"); `L1.from_course` uses ``lambd / (2 * m)`` to mirror L2, and the
mapping is stated in its docstring.
"""

import keras

from kerastools._registry import register
from kerastools._validation import check_int, check_number

__all__ = ["L1", "L2", "L1L2"]


def _course_factor(lambd, num_examples):
    lambd = check_number("lambd", lambd, low=0.0)
    num_examples = check_int("num_examples", num_examples, low=1)
    return lambd / (2.0 * num_examples)


@register
class L1L2(keras.regularizers.Regularizer):
    """Penalty ``l1 * sum(abs(W)) + l2 * sum(W ** 2)`` added to the loss.

    Args:
        l1: L1 factor, >= 0. Defaults to `0.0`.
        l2: L2 factor, >= 0. Defaults to `0.0`.

    Example:

    >>> dense = keras.layers.Dense(10, kernel_regularizer=L1L2(l1=1e-5, l2=1e-4))
    """

    def __init__(self, l1=0.0, l2=0.0):
        self.l1 = check_number("l1", l1, low=0.0)
        self.l2 = check_number("l2", l2, low=0.0)

    def __call__(self, x):
        penalty = 0.0
        if self.l1:
            penalty = penalty + self.l1 * keras.ops.sum(keras.ops.abs(x))
        if self.l2:
            penalty = penalty + self.l2 * keras.ops.sum(keras.ops.square(x))
        if not self.l1 and not self.l2:
            penalty = keras.ops.zeros((), dtype=x.dtype)
        return penalty

    def get_config(self):
        return {"l1": self.l1, "l2": self.l2}


@register
class L2(L1L2):
    """L2 penalty ``l2 * sum(W ** 2)``: gradient ``2 * l2 * W`` ("weight decay").

    Identical to ``keras.regularizers.L2``. For the course's ``lambd / (2m)``
    form use `L2.from_course`.

    Args:
        l2: the factor, >= 0. Defaults to `0.01`.

    Example:

    >>> reg = L2.from_course(lambd=0.7, num_examples=1797)
    >>> dense = keras.layers.Dense(64, kernel_regularizer=reg)
    """

    def __init__(self, l2=0.01):
        super().__init__(l1=0.0, l2=l2)

    @classmethod
    def from_course(cls, lambd, num_examples):
        """The course's tail ``lambd / (2m) * ||W||**2``: ``l2 = lambd / (2 * num_examples)``.

        Args:
            lambd: the course's regularisation parameter lambda, >= 0.
            num_examples: ``m``, the number of training examples (not the batch
                size), >= 1.
        """
        return cls(l2=_course_factor(lambd, num_examples))

    def get_config(self):
        return {"l2": self.l2}


@register
class L1(L1L2):
    """L1 penalty ``l1 * sum(abs(W))``; drives weights to exactly zero (sparsity).

    Args:
        l1: the factor, >= 0. Defaults to `0.01`.
    """

    def __init__(self, l1=0.01):
        super().__init__(l1=l1, l2=0.0)

    @classmethod
    def from_course(cls, lambd, num_examples):
        """The course's ``lambd / (2m) * ||w||_1``: ``l1 = lambd / (2 * num_examples)``.

        Args:
            lambd: lambda, >= 0.
            num_examples: ``m``, the number of training examples, >= 1.
        """
        return cls(l1=_course_factor(lambd, num_examples))

    def get_config(self):
        return {"l1": self.l1}

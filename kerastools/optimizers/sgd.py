"""Stochastic gradient descent, with optional heavy-ball or Nesterov momentum."""

from keras import ops

from kerastools._registry import register
from kerastools._validation import check_bool
from kerastools.optimizers import _tf_kernels
from kerastools.optimizers._base import FusedOptimizer, check_fraction, constant
from kerastools.optimizers._docs import fill_shared_args


@register
@fill_shared_args
class SGD(FusedOptimizer):
    """Gradient descent with optional heavy-ball momentum: Keras's ``SGD``, fused.

    Without momentum (``momentum == 0``)::

        w = w - learning_rate * g

    With momentum ``mu`` (the velocity ``v`` starts at zero)::

        v = mu * v - learning_rate * g
        w = w + v                                   # nesterov=False
        w = w + mu * v - learning_rate * g          # nesterov=True

    Args:
        {{learning_rate}}
        momentum: ``mu``, in [0, 1). Defaults to `0.0`.
        nesterov: use Nesterov momentum. Defaults to `False`.
        {{fused}}
        {{base_optimizer_keyword_args}}

    Example:

    >>> import kerastools as kt
    >>> opt = kt.SGD(learning_rate=0.1, momentum=0.9)
    >>> w = keras.Variable([1.0, -2.0])
    >>> opt.apply([keras.ops.convert_to_tensor([2.0, 0.5])], [w])
    >>> w.numpy()  # v = -0.1 * g, w + v
    array([ 0.8 , -2.05], dtype=float32)

    Note:
        This is the course's book form and Keras's: the learning rate is inside
        the velocity. PyTorch keeps it outside (``b = mu * b + g``,
        ``w = w - lr * b``); the two agree for a constant learning rate. For the
        course's exponentially weighted form ``v = beta * v + (1 - beta) * g`` use
        `Momentum`. With default arguments the result equals
        ``keras.optimizers.SGD``.

    Note:
        Updates go through TensorFlow's ``ResourceApplyGradientDescent`` or
        ``ResourceApplyKerasMomentum``. A sparse gradient (`tf.IndexedSlices`,
        e.g. from ``Embedding``) updates only its rows when ``momentum == 0``;
        with momentum, the velocity of every row decays, so it is densified.

    References:
        Polyak, 1964; Sutskever et al., 2013, https://proceedings.mlr.press/v28/sutskever13.html
    """

    _hyperparameters = ("momentum", "nesterov")

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, fused=None, **kwargs):
        super().__init__(learning_rate=learning_rate, fused=fused, **kwargs)
        self.momentum = check_fraction("momentum", momentum)
        self.nesterov = check_bool("nesterov", nesterov)
        self._check_fused()

    def _build_slots(self, variables):
        self._velocities = []
        if self.momentum != 0:
            self._velocities = self.add_optimizer_variables(variables, "momentum")

    def _fused_update(self, gradient, variable, learning_rate):
        if self.momentum == 0:
            _tf_kernels.gradient_descent(variable, learning_rate, gradient)
        else:
            velocity = self._slot(self._velocities, variable)
            _tf_kernels.keras_momentum(
                variable, velocity, learning_rate, gradient, self.momentum, self.nesterov
            )

    def _under_xla(self):
        # Without momentum the keras.ops path is Keras's own rule, which XLA
        # fuses into the same single pass as the kernel; with it, the kernel.
        return "fused" if self.momentum > 0 else "portable"

    def _sparse_update(self, gradient, variable, learning_rate):
        if self.momentum != 0:
            return False
        # Scatter-subtraction adds duplicate rows up, so no de-duplication is needed.
        _tf_kernels.scatter_sub(variable, gradient.indices, gradient.values * learning_rate)
        return True

    def _portable_update(self, gradient, variable, learning_rate):
        if self.momentum == 0:
            self.assign_sub(variable, ops.multiply(gradient, learning_rate))
            return
        mu = constant(self.momentum, variable.dtype)
        velocity = self._slot(self._velocities, variable)
        self.assign(
            velocity,
            ops.subtract(ops.multiply(velocity, mu), ops.multiply(gradient, learning_rate)),
        )
        if self.nesterov:
            self.assign_add(
                variable,
                ops.subtract(ops.multiply(velocity, mu), ops.multiply(gradient, learning_rate)),
            )
        else:
            self.assign_add(variable, velocity)

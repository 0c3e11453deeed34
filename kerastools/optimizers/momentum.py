"""Gradient descent with momentum in the course's exponentially weighted form."""

from keras import ops

from kerastools._registry import register
from kerastools._validation import check_bool
from kerastools.optimizers import _tf_kernels
from kerastools.optimizers._base import FusedOptimizer, check_fraction, constant
from kerastools.optimizers._docs import fill_shared_args


@register
@fill_shared_args
class Momentum(FusedOptimizer):
    """Momentum as an exponentially weighted average of gradients (the course's form).

    With ``v`` starting at zero and ``t`` the 1-based step::

        v = beta * v + (1 - beta) * g
        w = w - learning_rate * v                          # bias_correction=False
        w = w - learning_rate * v / (1 - beta ** t)        # bias_correction=True

    ``v`` averages roughly the last ``1 / (1 - beta)`` gradients; the bias
    correction removes the pull towards its zero start during the first steps.

    Args:
        {{learning_rate}}
        beta: the averaging coefficient ``beta``, in [0, 1) (``momentum=`` is
            refused with a `ValueError` pointing here). Defaults to `0.9`.
        bias_correction: divide ``v`` by ``1 - beta ** t``. Defaults to `False`.
        {{fused}}
        {{base_optimizer_keyword_args}}

    Example:

    >>> import kerastools as kt
    >>> opt = kt.Momentum(learning_rate=0.1, beta=0.9)
    >>> w = keras.Variable([1.0])
    >>> opt.apply([keras.ops.convert_to_tensor([2.0])], [w])
    >>> w.numpy()  # v = 0.1 * 2 = 0.2; w = 1 - 0.1 * 0.2
    array([0.98], dtype=float32)

    Note:
        This is heavy-ball momentum with the step scaled by ``1 - beta``: the
        velocity ``b`` of PyTorch's SGD (``b = beta * b + g``) is ``v / (1 - beta)``,
        so ``Momentum(lr, beta)`` equals ``torch.optim.SGD(lr=lr * (1 - beta),
        momentum=beta)``, and `SGD` (Keras's form) with ``lr * (1 - beta)`` under
        a constant learning rate. The slot variable ``velocity`` holds
        ``b = v / (1 - beta)``, which lets TensorFlow's fused
        ``ResourceApplyMomentum`` kernel do the whole update in one pass
        (``b = beta * b + g``, ``w -= learning_rate * (1 - beta) * b``).

    References:
        The course, week 2, "Gradient descent with momentum" (exponentially
        weighted averages, docs/conventions.md);
        Qian, 1999, https://doi.org/10.1016/S0893-6080(98)00116-6
    """

    _hyperparameters = ("beta", "bias_correction")

    def __init__(self, learning_rate=0.01, beta=0.9, bias_correction=False, fused=None, **kwargs):
        if "momentum" in kwargs:
            # The name users reach for from SGD/PyTorch; Keras's generic "Argument(s)
            # not recognized" would not say that this class calls it `beta`.
            raise ValueError(
                "`Momentum` has no argument `momentum`: its averaging coefficient is `beta` "
                "(v = beta * v + (1 - beta) * g), e.g. `Momentum(beta=0.9)`; for Keras's form "
                "v = momentum * v - learning_rate * g use `SGD(momentum=...)`. "
                f"Received: momentum={kwargs['momentum']!r}"
            )
        super().__init__(learning_rate=learning_rate, fused=fused, **kwargs)
        self.beta = check_fraction("beta", beta)
        self.bias_correction = check_bool("bias_correction", bias_correction)
        self._check_fused()

    def _build_slots(self, variables):
        self._velocities = self.add_optimizer_variables(variables, "velocity")

    def _step_size(self, variable, learning_rate):
        """``learning_rate * (1 - beta) [/ (1 - beta ** t)]``, the factor applied to ``b``."""
        dtype = variable.dtype
        scale = ops.multiply(learning_rate, constant(1.0 - self.beta, dtype))
        if self.bias_correction:
            beta_power = ops.power(constant(self.beta, dtype), self._step(dtype))
            scale = ops.divide(scale, ops.subtract(constant(1.0, dtype), beta_power))
        return scale

    def _fused_update(self, gradient, variable, learning_rate):
        velocity = self._slot(self._velocities, variable)
        step_size = self._step_size(variable, learning_rate)
        _tf_kernels.momentum(variable, velocity, step_size, gradient, self.beta)

    def _portable_update(self, gradient, variable, learning_rate):
        velocity = self._slot(self._velocities, variable)
        beta = constant(self.beta, variable.dtype)
        self.assign(velocity, ops.add(ops.multiply(velocity, beta), gradient))
        self.assign_sub(
            variable, ops.multiply(velocity, self._step_size(variable, learning_rate))
        )

"""RMSprop: divide the step by a running root mean square of the gradients."""

from keras import ops

from kerastools._registry import register
from kerastools._validation import check_bool, check_choice
from kerastools.optimizers import _tf_kernels
from kerastools.optimizers._base import (
    FusedOptimizer,
    check_epsilon,
    check_fraction,
    constant,
    rounding_ratio,
)
from kerastools.optimizers._docs import fill_shared_args

_PLACEMENTS = ("inside", "outside")


@register
@fill_shared_args
class RMSprop(FusedOptimizer):
    """RMSprop, optionally centred and with momentum.

    With ``s``, ``gbar`` and ``p`` starting at zero::

        s = rho * s + (1 - rho) * g * g
        d = s                                   # centered=False
        gbar = rho * gbar + (1 - rho) * g       # centered=True
        d = s - gbar * gbar                     #   (an estimate of the variance)
        step = learning_rate * g / sqrt(d + epsilon)     # epsilon_placement="inside"
        step = learning_rate * g / (sqrt(d) + epsilon)   # epsilon_placement="outside"
        p = momentum * p + step
        w = w - p

    Args:
        {{learning_rate}}
        rho: the averaging coefficient ``rho`` (the course's ``beta``), in [0, 1).
            Defaults to `0.9`.
        momentum: ``momentum``, in [0, 1). Defaults to `0.0`.
        {{epsilon}}
        centered: normalise by the variance instead of the second moment.
            Defaults to `False`.
        epsilon_placement: ``"inside"`` or ``"outside"`` the square root.
            Defaults to `"inside"`.
        {{fused}}
        {{base_optimizer_keyword_args}}

    Example:

    >>> import kerastools as kt
    >>> opt = kt.RMSprop(learning_rate=0.1, rho=0.75)
    >>> w = keras.Variable([1.0])
    >>> opt.apply([keras.ops.convert_to_tensor([2.0])], [w])
    >>> w.numpy()  # s = 0.25 * 4 = 1; w = 1 - 0.1 * 2 / sqrt(1 + 1e-7)
    array([0.8], dtype=float32)

    Note:
        Where epsilon goes. ``"inside"``, ``sqrt(s + epsilon)``, is the course's
        (``sqrt(S_dw + u)``, ``u = 1e-8``) and Keras's; with the defaults this class
        equals ``keras.optimizers.RMSprop``. ``"outside"``, ``sqrt(s) + epsilon``,
        is PyTorch's (whose defaults are ``rho=0.99``, ``eps=1e-8``). As in Keras
        and TensorFlow the learning rate is inside the momentum buffer; PyTorch
        applies it afterwards, which agrees for a constant learning rate.

    Note:
        Fused kernels: ``ResourceApplyRMSProp`` (inside), ``ResourceApplyCenteredRMSProp``
        (inside, centred) and, for ``"outside"`` without momentum or centring,
        ``ResourceApplyAdam`` with ``beta_1 = 0``, Nesterov's form and no bias
        correction, which is that rule exactly. The kernels need a momentum buffer, so the slot
        ``momentum`` exists even when ``momentum == 0`` (it then holds the last
        step and is never read back): one more slot than Keras's RMSprop. The
        other combinations use the `keras.ops` path.

    References:
        Hinton, Neural Networks for Machine Learning, lecture 6e, 2012;
        Graves, 2013 (centred), https://arxiv.org/abs/1308.0850
    """

    _hyperparameters = ("rho", "momentum", "epsilon", "centered", "epsilon_placement")

    def __init__(
        self,
        learning_rate=0.001,
        rho=0.9,
        momentum=0.0,
        epsilon=1e-7,
        centered=False,
        epsilon_placement="inside",
        fused=None,
        **kwargs,
    ):
        super().__init__(learning_rate=learning_rate, fused=fused, **kwargs)
        self.rho = check_fraction("rho", rho)
        self.momentum = check_fraction("momentum", momentum)
        self.epsilon = check_epsilon(epsilon)
        self.centered = check_bool("centered", centered)
        self.epsilon_placement = check_choice("epsilon_placement", epsilon_placement, _PLACEMENTS)
        self._check_fused()

    def _has_fused_kernel(self):
        if self.epsilon_placement == "inside":
            return True
        return not self.centered and self.momentum == 0

    def _under_xla(self):
        # XLA fuses the keras.ops path into one pass over w, s and g; the kernels
        # also read and write the momentum buffer, even when momentum == 0.
        return "fused" if self.momentum > 0 else "portable"

    def _convention(self):
        return (
            f"RMSprop(epsilon_placement={self.epsilon_placement!r}, "
            f"centered={self.centered}, momentum={self.momentum})"
        )

    def _build_slots(self, variables):
        self._velocities, self._momentums = self.add_optimizer_variables(
            variables, ["velocity", "momentum"]
        )
        self._average_gradients = []
        if self.centered:
            self._average_gradients = self.add_optimizer_variables(variables, "average_gradient")

    def _fused_update(self, gradient, variable, learning_rate):
        velocity = self._slot(self._velocities, variable)
        momentum = self._slot(self._momentums, variable)
        # The kernels compute 1 - rho in the variable's dtype, which scales s by
        # c = rounding_ratio(rho); the rate and epsilon below undo it exactly
        # (1.3e-5 in float32 for rho = 0.999). Not possible when centred, where
        # s - gbar ** 2 scales by c and c ** 2; there c is 2.4e-7 for rho = 0.9.
        c = 1.0 if self.centered else rounding_ratio(self.rho, variable.dtype)
        learning_rate = ops.multiply(learning_rate, constant(c**0.5, variable.dtype))
        if self.epsilon_placement == "outside":
            # Adam with beta_1 = 0 and no bias correction (both powers 0) is
            # w -= lr * g / (sqrt(s) + eps). The Nesterov form uses g itself
            # (g * 1 + 0 * m); the plain form would use m = m + (g - m), which
            # loses g to cancellation when the previous gradient was much larger.
            _tf_kernels.adam(
                variable,
                momentum,
                velocity,
                learning_rate,
                gradient,
                beta_1=0.0,
                beta_2=self.rho,
                beta_1_power=0.0,
                beta_2_power=0.0,
                epsilon=self.epsilon * c**0.5,
                nesterov=True,
            )
        elif self.centered:
            average = self._slot(self._average_gradients, variable)
            _tf_kernels.centered_rmsprop(
                variable,
                average,
                velocity,
                momentum,
                learning_rate,
                gradient,
                rho=self.rho,
                momentum=self.momentum,
                epsilon=self.epsilon,
            )
        else:
            _tf_kernels.rmsprop(
                variable,
                velocity,
                momentum,
                learning_rate,
                gradient,
                rho=self.rho,
                momentum=self.momentum,
                epsilon=self.epsilon * c,
            )

    def _portable_update(self, gradient, variable, learning_rate):
        dtype = variable.dtype
        rho = constant(self.rho, dtype)
        one_minus_rho = constant(1.0 - self.rho, dtype)
        epsilon = constant(self.epsilon, dtype)
        velocity = self._slot(self._velocities, variable)
        self.assign(
            velocity,
            ops.add(ops.multiply(rho, velocity), ops.multiply(one_minus_rho, ops.square(gradient))),
        )
        denominator = velocity
        if self.centered:
            average = self._slot(self._average_gradients, variable)
            self.assign(
                average,
                ops.add(ops.multiply(rho, average), ops.multiply(one_minus_rho, gradient)),
            )
            denominator = ops.subtract(velocity, ops.square(average))
        if self.epsilon_placement == "inside":
            denominator = ops.sqrt(ops.add(denominator, epsilon))
        else:
            denominator = ops.add(ops.sqrt(denominator), epsilon)
        step = ops.divide(ops.multiply(learning_rate, gradient), denominator)
        if self.momentum > 0:
            momentum = self._slot(self._momentums, variable)
            self.assign(
                momentum, ops.add(ops.multiply(constant(self.momentum, dtype), momentum), step)
            )
            self.assign_sub(variable, momentum)
        else:
            self.assign_sub(variable, step)

"""Adam and AdamW, with the three placements of epsilon in use."""

from keras import ops

from kerastools._registry import register
from kerastools._validation import check_bool, check_choice, check_number
from kerastools.optimizers import _tf_kernels
from kerastools.optimizers._base import (
    FusedOptimizer,
    check_epsilon,
    check_fraction,
    constant,
    rounding_ratio,
)
from kerastools.optimizers._docs import fill_shared_args

_PLACEMENTS = ("hat", "outside", "inside")


@register
@fill_shared_args
class Adam(FusedOptimizer):
    """Adam: momentum on the gradient, RMSprop on its square, both bias-corrected.

    With ``m`` and ``v`` starting at zero and ``t`` the 1-based step::

        m = beta_1 * m + (1 - beta_1) * g
        v = beta_2 * v + (1 - beta_2) * g * g
        v_max = maximum(v_max, v); v = v_max             # amsgrad=True only
        m_hat = m / (1 - beta_1 ** t)
        v_hat = v / (1 - beta_2 ** t)
        # epsilon_placement="hat" (Keras, TensorFlow, the book):
        w = w - learning_rate * sqrt(1 - beta_2 ** t) / (1 - beta_1 ** t) * m / (sqrt(v) + epsilon)
        # epsilon_placement="outside" (the paper's Algorithm 1, PyTorch, Optax):
        w = w - learning_rate * m_hat / (sqrt(v_hat) + epsilon)
        # epsilon_placement="inside" (the course):
        w = w - learning_rate * m_hat / sqrt(v_hat + epsilon)

    Args:
        {{learning_rate}}
        beta_1: decay of the first moment ``m``, in [0, 1). Defaults to `0.9`.
        beta_2: decay of the second moment ``v``, in [0, 1). Defaults to `0.999`.
        {{epsilon}}
        amsgrad: use the running maximum of ``v`` (AMSGrad). Defaults to `False`.
        epsilon_placement: ``"hat"``, ``"outside"`` or ``"inside"`` (see the
            note). Defaults to `"hat"`.
        {{fused}}
        {{base_optimizer_keyword_args}}

    Example:

    >>> import kerastools as kt
    >>> course = kt.Adam(learning_rate=0.5, epsilon=1e-8, epsilon_placement="inside")
    >>> w = keras.Variable([1.0])
    >>> course.apply([keras.ops.convert_to_tensor([2.0])], [w])
    >>> round(float(w.numpy()[0]), 4)  # m_hat = 2, v_hat = 4: the step is learning_rate * sign(g)
    0.5

    Note:
        Three conventions for epsilon are in use and this class offers all three.
        ``"hat"`` is the "epsilon hat" of the paper's section 2 (``epsilon`` added
        to ``sqrt(v)`` before bias correction); with the defaults this class
        equals ``keras.optimizers.Adam``, and it is the book's ``Adam``
        (``lr_t * m / (sqrt(v) + 1e-7)``). ``"outside"`` is Algorithm 1 of the
        paper and PyTorch's ``Adam`` (use ``epsilon=1e-8`` for PyTorch's
        default). ``"inside"`` is the course's ``np.sqrt(s_corrected + epsilon)``
        (with ``epsilon=1e-8``). The three differ only while ``sqrt(v_hat)`` is
        not much larger than ``epsilon``: ``"hat"`` equals ``"outside"`` with
        ``epsilon * sqrt(1 - beta_2 ** t)`` in place of ``epsilon``.

    Note:
        ``"hat"`` and ``"outside"`` go through TensorFlow's fused
        ``ResourceApplyAdam`` kernel (``"outside"`` by passing the per-step
        ``epsilon * sqrt(1 - beta_2 ** t)``), or ``ResourceApplyAdamWithAmsgrad``
        for AMSGrad, which has no XLA implementation: under ``jit_compile=True``
        AMSGrad takes the `keras.ops` path, which XLA fuses. ``"inside"`` always
        takes the `keras.ops` path: no kernel computes ``sqrt(v_hat + epsilon)``.

    References:
        Kingma & Ba, 2015, https://arxiv.org/abs/1412.6980;
        Reddi, Kale & Kumar, 2018 (AMSGrad), https://openreview.net/forum?id=ryQu7f-RZ
    """

    _hyperparameters = ("beta_1", "beta_2", "epsilon", "amsgrad", "epsilon_placement")

    def __init__(
        self,
        learning_rate=0.001,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-7,
        amsgrad=False,
        epsilon_placement="hat",
        fused=None,
        **kwargs,
    ):
        super().__init__(learning_rate=learning_rate, fused=fused, **kwargs)
        self.beta_1 = check_fraction("beta_1", beta_1)
        self.beta_2 = check_fraction("beta_2", beta_2)
        self.epsilon = check_epsilon(epsilon)
        self.amsgrad = check_bool("amsgrad", amsgrad)
        self.epsilon_placement = check_choice("epsilon_placement", epsilon_placement, _PLACEMENTS)
        self._check_fused()

    def _has_fused_kernel(self):
        return self.epsilon_placement != "inside"

    def _under_xla(self):
        return "unsupported" if self.amsgrad else "fused"

    def _convention(self):
        return f"Adam(epsilon_placement={self.epsilon_placement!r}, amsgrad={self.amsgrad})"

    def _build_slots(self, variables):
        self._momentums, self._velocities = self.add_optimizer_variables(
            variables, ["momentum", "velocity"]
        )
        if self.amsgrad:
            self._velocity_hats = self.add_optimizer_variables(variables, "velocity_hat")

    def _powers(self, dtype):
        step = self._step(dtype)
        beta_1_power = ops.power(constant(self.beta_1, dtype), step)
        beta_2_power = ops.power(constant(self.beta_2, dtype), step)
        return beta_1_power, beta_2_power

    def _fused_update(self, gradient, variable, learning_rate):
        dtype = variable.dtype
        beta_1_power, beta_2_power = self._powers(dtype)
        # The kernel computes 1 - beta in the variable's dtype: in float32,
        # 1 - 0.999 is 0.00099998713, so v comes out scaled by
        # c2 = (1 - fl(beta_2)) / (1 - beta_2) = 1 - 1.3e-5 (and m by c1). Scaling
        # the rate by sqrt(c2) / c1 and epsilon by sqrt(c2) cancels both, as if
        # 1 - beta were exact, which is what Keras's Python arithmetic gives.
        c1, c2 = (rounding_ratio(beta, dtype) for beta in (self.beta_1, self.beta_2))
        learning_rate = ops.multiply(learning_rate, constant(c2**0.5 / c1, dtype))
        epsilon = constant(self.epsilon * c2**0.5, dtype)
        if self.epsilon_placement == "outside":
            # m_hat / (sqrt(v_hat) + eps)
            #   == sqrt(1 - b2^t) / (1 - b1^t) * m / (sqrt(v) + eps * sqrt(1 - b2^t))
            epsilon = ops.multiply(epsilon, ops.sqrt(ops.subtract(constant(1.0, dtype), beta_2_power)))
        m = self._slot(self._momentums, variable)
        v = self._slot(self._velocities, variable)
        hyper = (self.beta_1, self.beta_2, beta_1_power, beta_2_power, epsilon)
        if self.amsgrad:
            v_max = self._slot(self._velocity_hats, variable)
            _tf_kernels.adam_amsgrad(variable, m, v, v_max, learning_rate, gradient, *hyper)
        else:
            _tf_kernels.adam(variable, m, v, learning_rate, gradient, *hyper)

    def _portable_update(self, gradient, variable, learning_rate):
        dtype = variable.dtype
        one = constant(1.0, dtype)
        beta_1_power, beta_2_power = self._powers(dtype)
        m = self._slot(self._momentums, variable)
        v = self._slot(self._velocities, variable)
        self.assign_add(m, ops.multiply(ops.subtract(gradient, m), 1.0 - self.beta_1))
        self.assign_add(v, ops.multiply(ops.subtract(ops.square(gradient), v), 1.0 - self.beta_2))
        if self.amsgrad:
            v_max = self._slot(self._velocity_hats, variable)
            self.assign(v_max, ops.maximum(v_max, v))
            v = v_max
        epsilon = constant(self.epsilon, dtype)
        if self.epsilon_placement == "hat":
            alpha = ops.divide(
                ops.multiply(learning_rate, ops.sqrt(ops.subtract(one, beta_2_power))),
                ops.subtract(one, beta_1_power),
            )
            step = ops.divide(ops.multiply(m, alpha), ops.add(ops.sqrt(v), epsilon))
        else:
            m_hat = ops.divide(m, ops.subtract(one, beta_1_power))
            v_hat = ops.divide(v, ops.subtract(one, beta_2_power))
            if self.epsilon_placement == "outside":
                denominator = ops.add(ops.sqrt(v_hat), epsilon)
            else:
                denominator = ops.sqrt(ops.add(v_hat, epsilon))
            step = ops.divide(ops.multiply(learning_rate, m_hat), denominator)
        self.assign_sub(variable, step)



@register
@fill_shared_args
class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter): Keras's ``AdamW``.

    Before each Adam step (see `Adam`), every variable not excluded with
    ``exclude_from_weight_decay`` is shrunk::

        w = w - learning_rate * weight_decay * w

    Args:
        {{learning_rate}}
        weight_decay: the decay ``weight_decay``, >= 0. Defaults to `0.004`.
        beta_1: as in `Adam`. Defaults to `0.9`.
        beta_2: as in `Adam`. Defaults to `0.999`.
        {{epsilon}}
        amsgrad: as in `Adam`. Defaults to `False`.
        epsilon_placement: as in `Adam`. Defaults to `"hat"`.
        {{fused}}
        {{base_optimizer_keyword_args}}

    Example:

    >>> import kerastools as kt
    >>> opt = kt.AdamW(learning_rate=1e-3, weight_decay=0.01)
    >>> opt.exclude_from_weight_decay(var_names=["bias"])

    Note:
        As in Keras and PyTorch the decay is multiplied by the learning rate
        (schedule included); the paper multiplies it by the schedule's factor
        only. Unlike L2 regularisation (`kerastools.regularizers.L2`), the decay
        does not pass through Adam's normalisation. With the defaults this class
        equals ``keras.optimizers.AdamW``; Keras's base class applies the decay.

    References:
        Loshchilov & Hutter, 2019, https://arxiv.org/abs/1711.05101
    """

    def __init__(
        self,
        learning_rate=0.001,
        weight_decay=0.004,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-7,
        amsgrad=False,
        epsilon_placement="hat",
        fused=None,
        **kwargs,
    ):
        if weight_decay is None:
            # AdamW without decay is Adam; Keras refuses None with a ValueError.
            raise ValueError(
                "Argument `weight_decay` must be a float. Received: weight_decay=None "
                "(use `Adam` for no weight decay)"
            )
        weight_decay = check_number("weight_decay", weight_decay, low=0.0)
        super().__init__(
            learning_rate=learning_rate,
            beta_1=beta_1,
            beta_2=beta_2,
            epsilon=epsilon,
            amsgrad=amsgrad,
            epsilon_placement=epsilon_placement,
            fused=fused,
            weight_decay=weight_decay,
            **kwargs,
        )

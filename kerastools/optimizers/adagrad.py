"""Adagrad: per-coordinate step sizes from the sum of squared gradients."""

from keras import ops

from kerastools._registry import register
from kerastools._validation import check_choice, check_number
from kerastools.optimizers import _tf_kernels
from kerastools.optimizers._base import FusedOptimizer, check_epsilon, constant, filled_with
from kerastools.optimizers._docs import fill_shared_args

_PLACEMENTS = ("inside", "outside")


@register
@fill_shared_args
class Adagrad(FusedOptimizer):
    """Adagrad: divide each coordinate's step by the root of its summed squared gradients.

    With ``h`` starting at ``initial_accumulator_value``::

        h = h + g * g
        w = w - learning_rate * g / sqrt(h + epsilon)      # epsilon_placement="inside"
        w = w - learning_rate * g / (sqrt(h) + epsilon)    # epsilon_placement="outside"

    Args:
        {{learning_rate}}
        initial_accumulator_value: the starting value of ``h``, >= 0. Defaults to `0.1`.
        {{epsilon}}
        epsilon_placement: ``"inside"`` or ``"outside"`` the square root (see the
            note). Defaults to `"inside"`.
        {{fused}}
        {{base_optimizer_keyword_args}}

    Example:

    >>> import kerastools as kt
    >>> opt = kt.Adagrad(learning_rate=0.5, initial_accumulator_value=0.0)
    >>> w = keras.Variable([1.0])
    >>> opt.apply([keras.ops.convert_to_tensor([2.0])], [w])
    >>> w.numpy()  # h = 4; w = 1 - 0.5 * 2 / sqrt(4)
    array([0.5], dtype=float32)

    Note:
        Where epsilon goes. ``"inside"``, ``sqrt(h + epsilon)``, is Keras's
        ``Adagrad`` and the course's book (``np.sqrt(h + 1e-7)``); the defaults
        (``initial_accumulator_value=0.1``, ``epsilon=1e-7``) equal
        ``keras.optimizers.Adagrad``. ``"outside"``, ``sqrt(h) + epsilon``, is
        Duchi et al.'s form, PyTorch's (whose accumulator starts at 0 and
        ``eps=1e-10``) and the one written in another course note; with
        ``initial_accumulator_value=0.0`` it is the course's ``AdaGrad`` class.

    Note:
        With ``"inside"`` the slot variable ``accumulator`` holds ``h + epsilon``
        (initialised to ``initial_accumulator_value + epsilon``): the sum gains
        the same ``g * g`` either way, and TensorFlow's fused
        ``ResourceApplyAdagrad`` kernel (``w -= lr * g / sqrt(accumulator)``) then
        computes exactly ``sqrt(h + epsilon)``. ``"outside"`` uses
        ``ResourceApplyAdagradV2``. A sparse gradient (`tf.IndexedSlices`) updates
        only its rows, duplicate indices summed first, which equals the dense update.

    References:
        Duchi, Hazan & Singer, 2011, https://jmlr.org/papers/v12/duchi11a.html
    """

    _hyperparameters = ("initial_accumulator_value", "epsilon", "epsilon_placement")

    def __init__(
        self,
        learning_rate=0.001,
        initial_accumulator_value=0.1,
        epsilon=1e-7,
        epsilon_placement="inside",
        fused=None,
        **kwargs,
    ):
        super().__init__(learning_rate=learning_rate, fused=fused, **kwargs)
        self.initial_accumulator_value = check_number(
            "initial_accumulator_value", initial_accumulator_value, low=0.0
        )
        self.epsilon = check_epsilon(epsilon)
        self.epsilon_placement = check_choice("epsilon_placement", epsilon_placement, _PLACEMENTS)
        self._check_fused()

    def _inside(self):
        return self.epsilon_placement == "inside"

    def _build_slots(self, variables):
        start = self.initial_accumulator_value + (self.epsilon if self._inside() else 0.0)
        self._accumulators = self.add_optimizer_variables(
            variables, "accumulator", initializer=filled_with(start)
        )

    def _fused_update(self, gradient, variable, learning_rate):
        accumulator = self._slot(self._accumulators, variable)
        if self._inside():
            _tf_kernels.adagrad(variable, accumulator, learning_rate, gradient)
        else:
            _tf_kernels.adagrad_v2(variable, accumulator, learning_rate, gradient, self.epsilon)

    def _denominator(self, accumulator, dtype):
        root = ops.sqrt(accumulator)
        return root if self._inside() else ops.add(root, constant(self.epsilon, dtype))

    def _sparse_update(self, gradient, variable, learning_rate):
        accumulator = self._slot(self._accumulators, variable)
        values, indices = _tf_kernels.unique_rows(gradient)
        rows = _tf_kernels.gather(accumulator, indices) + values * values
        _tf_kernels.scatter_update(accumulator, indices, rows)
        steps = learning_rate * values / self._denominator(rows, variable.dtype)
        _tf_kernels.scatter_sub(variable, indices, steps)
        return True

    def _portable_update(self, gradient, variable, learning_rate):
        accumulator = self._slot(self._accumulators, variable)
        self.assign_add(accumulator, ops.square(gradient))
        self.assign_sub(
            variable,
            ops.divide(
                ops.multiply(learning_rate, gradient),
                self._denominator(accumulator, variable.dtype),
            ),
        )

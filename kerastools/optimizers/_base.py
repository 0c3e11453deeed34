"""What every kerastools optimizer shares: argument checks, the fused/portable
dispatch, sparse gradients and the config.

Each optimizer writes its rule twice, with the same slot variables and the same
meaning of every slot:

* ``_fused_update``: one of TensorFlow's fused training kernels
  (``tf.raw_ops.ResourceApply*``), which reads and writes every array once;
* ``_portable_update``: the same rule in `keras.ops`, for the other backends,
  for float16/bfloat16 variables, for the conventions no kernel computes and,
  under XLA, where the kernel has no XLA form or would move more memory.

Keras's base class keeps doing everything around the rule (clipping, weight
decay, EMA, gradient accumulation, loss scaling, `tf.distribute`).
"""

import numbers

import keras
import numpy as np
from keras import ops

from kerastools._validation import check_bool, check_int, check_number
from kerastools.optimizers import _tf_kernels

# The kernels compute ``1 - beta`` in the variable's dtype; in bfloat16 the default
# beta_2 = 0.999 rounds to 1 and Adam would stop updating its second moment, and
# in float16 it is 2% off. Keras computes ``1 - beta`` in Python, so low-precision
# variables take the portable path, which does the same.
_FUSED_DTYPES = ("float32", "float64")


_KERAS_LEARNING_RATE = keras.optimizers.Optimizer.learning_rate


def check_learning_rate(learning_rate):
    """A finite number >= 0 (returned as `float`), a `LearningRateSchedule` or a callable."""
    if isinstance(learning_rate, keras.optimizers.schedules.LearningRateSchedule):
        return learning_rate
    if callable(learning_rate):
        return learning_rate
    try:
        return check_number("learning_rate", learning_rate, low=0.0)
    except TypeError:
        raise TypeError(
            "Argument `learning_rate` must be a number >= 0, a "
            "`keras.optimizers.schedules.LearningRateSchedule` or a callable. "
            f"Received: learning_rate={learning_rate!r} of type {type(learning_rate).__name__}"
        ) from None


def check_fraction(name, value):
    """A decay rate such as beta, rho or momentum: a float in [0, 1)."""
    return check_number(name, value, low=0.0, high=1.0, high_inclusive=False)


def check_epsilon(value):
    return check_number("epsilon", value, low=0.0, low_inclusive=False)


def constant(value, dtype):
    """A Python number as a tensor of `dtype`, converted directly: ``ops.cast``
    of a Python float goes through float32, which would round 0.999 to
    0.99900001287 in a float64 computation."""
    return ops.convert_to_tensor(value, dtype=keras.backend.standardize_dtype(dtype))


def filled_with(value):
    """An initializer filling with `value` exactly in the variable's dtype
    (``keras.initializers.Constant`` rounds a Python float through float32)."""

    def initializer(shape, dtype=None):
        dtype = keras.backend.standardize_dtype(dtype or keras.config.floatx())
        return ops.full(shape, constant(value, dtype), dtype=dtype)

    return initializer


def rounding_ratio(beta, dtype):
    """``(1 - fl(beta)) / (1 - beta)``, ``fl`` rounding to `dtype`: the factor by
    which a kernel that computes ``1 - beta`` in `dtype` scales its running
    averages (``1 - 0.999`` is 0.00099998713 in float32: 1.3e-5 off)."""
    rounded = float(np.asarray(beta, dtype=keras.backend.standardize_dtype(dtype)))
    return (1.0 - rounded) / (1.0 - beta)


def check_floating(variables):
    """Refuse, before anything is written, variables an optimizer cannot update.

    A learning rate cast to an integer dtype is 0 (or garbage: the fused Adam
    kernel writes ``-2**31 + 1`` into an ``int32`` variable), and a boolean or
    complex variable has no meaningful step; Keras's own optimizers either raise
    an unrelated dtype error deep in an op or silently leave such a variable
    unchanged.
    """
    for variable in variables:
        dtype = keras.backend.standardize_dtype(variable.dtype)
        if not keras.backend.is_float_dtype(dtype):
            name = getattr(variable, "path", None) or getattr(variable, "name", repr(variable))
            raise TypeError(
                f"Optimizers update floating-point variables only; variable {name!r} has "
                f"dtype {dtype}. Make it a float variable, or mark it `trainable=False` "
                f"(or leave it out of the variables passed to the optimizer). "
                f"Received: variable {name!r} of dtype {dtype}"
            )


def _optional_positive(name, value):
    return check_number(name, value, low=0.0, low_inclusive=False, allow_none=True)


class FusedOptimizer(keras.optimizers.Optimizer):
    """Base class: validates Keras's base arguments and routes each update.

    Subclasses implement `_build_slots` (their slot variables), `_fused_update`
    and `_portable_update`, list their own constructor arguments in
    `_hyperparameters` (for `get_config`), call `_check_fused` at the end of
    `__init__`, and may override `_has_fused_kernel` (whether the chosen
    convention has a kernel), `_under_xla` (what to run inside XLA), `_convention`
    (for messages) and `_sparse_update` (row-wise updates for `tf.IndexedSlices`
    gradients where they equal the dense update).
    """

    # The subclass's own constructor arguments, stored as attributes of the same
    # names; `get_config` adds them, in this order, after Keras's and `fused`.
    _hyperparameters = ()

    def __init__(
        self,
        learning_rate,
        *,
        fused=None,
        weight_decay=None,
        clipnorm=None,
        clipvalue=None,
        global_clipnorm=None,
        use_ema=False,
        ema_momentum=0.99,
        ema_overwrite_frequency=None,
        loss_scale_factor=None,
        gradient_accumulation_steps=None,
        name=None,
        **kwargs,
    ):
        learning_rate = check_learning_rate(learning_rate)
        if fused is not None:
            check_bool("fused", fused)
        weight_decay = check_number("weight_decay", weight_decay, low=0.0, allow_none=True)
        clipnorm = _optional_positive("clipnorm", clipnorm)
        clipvalue = _optional_positive("clipvalue", clipvalue)
        global_clipnorm = _optional_positive("global_clipnorm", global_clipnorm)
        check_bool("use_ema", use_ema)
        ema_momentum = check_number("ema_momentum", ema_momentum, low=0.0, high=1.0)
        ema_overwrite_frequency = check_int(
            "ema_overwrite_frequency", ema_overwrite_frequency, low=1, allow_none=True
        )
        loss_scale_factor = _optional_positive("loss_scale_factor", loss_scale_factor)
        gradient_accumulation_steps = check_int(
            "gradient_accumulation_steps", gradient_accumulation_steps, low=2, allow_none=True
        )
        if name is not None and not isinstance(name, str):
            raise TypeError(
                f"Argument `name` must be a string or None. Received: name={name!r} "
                f"of type {type(name).__name__}"
            )
        super().__init__(
            learning_rate=learning_rate,
            weight_decay=weight_decay,
            clipnorm=clipnorm,
            clipvalue=clipvalue,
            global_clipnorm=global_clipnorm,
            use_ema=use_ema,
            ema_momentum=ema_momentum,
            ema_overwrite_frequency=ema_overwrite_frequency,
            loss_scale_factor=loss_scale_factor,
            gradient_accumulation_steps=gradient_accumulation_steps,
            name=name,
            **kwargs,
        )
        self.fused = fused

    def _check_fused(self):
        """Called by subclasses once their own arguments are set."""
        if not self.fused:
            return
        if keras.backend.backend() != "tensorflow":
            raise ValueError(
                "Argument `fused=True` needs the TensorFlow backend (its fused "
                f"kernels are TensorFlow ops). Received: fused=True with backend "
                f"{keras.backend.backend()!r}"
            )
        if not self._has_fused_kernel():
            raise ValueError(
                f"Argument `fused=True` is not available for {self._convention()}: "
                "TensorFlow has no fused kernel for it. Received: fused=True"
            )

    # The setter Keras's callbacks use (`LearningRateScheduler`, `ReduceLROnPlateau`)
    # and users call: a number set later is checked as the constructor checks it.
    @property
    def learning_rate(self):
        return _KERAS_LEARNING_RATE.fget(self)

    @learning_rate.setter
    def learning_rate(self, learning_rate):
        if isinstance(learning_rate, numbers.Real):
            learning_rate = check_learning_rate(learning_rate)
        _KERAS_LEARNING_RATE.fset(self, learning_rate)

    # ------------------------------------------------------------------ hooks

    def _has_fused_kernel(self):
        """Whether a TensorFlow kernel computes this configuration exactly."""
        return True

    def _under_xla(self):
        """What to do inside an XLA compilation (``jit_compile=True``):
        ``"fused"`` (the kernel compiles, and touches no more memory than the
        rule needs), ``"portable"`` (it compiles, but the `keras.ops` path, which
        XLA fuses, touches less memory) or ``"unsupported"`` (no XLA kernel)."""
        return "fused"

    def _convention(self):
        """How `_check_fused` names the configuration in its message."""
        return type(self).__name__

    def _build_slots(self, variables):
        """Create this optimizer's slot variables (called once, by `build`)."""

    def _fused_update(self, gradient, variable, learning_rate):
        raise NotImplementedError

    def _portable_update(self, gradient, variable, learning_rate):
        raise NotImplementedError

    def _sparse_update(self, gradient, variable, learning_rate):
        """Row-wise update for a `tf.IndexedSlices` gradient; returns whether it
        handled it (the default densifies the gradient instead)."""
        return False

    # ------------------------------------------------------------- dtype guard

    def build(self, variables):
        """Create the state once; with `use_ema`, refuse non-floating variables
        first (the moving average is written into every variable, gradient or not)."""
        if self.built:
            return
        if self.use_ema:
            check_floating(variables)
        super().build(variables)
        self._build_slots(variables)

    def apply(self, grads, trainable_variables=None):
        """Keras's `apply`, refusing non-floating variables before any write.

        `apply_gradients` and `fit` (through `train_step`) come here too. A
        variable without a gradient (`None`, as an integer variable gets from
        autodiff) is skipped as Keras skips it; one that receives a gradient must
        be floating-point, or a `TypeError` naming it is raised before any
        variable, slot or the step counter is written.
        """
        grads = list(grads)
        if trainable_variables is not None:
            trainable_variables = list(trainable_variables)  # read twice: no one-shot iterators
            variables = trainable_variables
        else:
            variables = self._trainable_variables if self.built else []
        check_floating([v for g, v in zip(grads, variables) if g is not None])
        return super().apply(grads, trainable_variables)

    # ---------------------------------------------------------------- routing

    def _uses_fused_kernel(self, variable):
        if self.fused is False or keras.backend.backend() != "tensorflow":
            return False
        if not self._has_fused_kernel():
            return False
        dtype = keras.backend.standardize_dtype(variable.dtype)
        if dtype not in _FUSED_DTYPES:
            if self.fused:
                raise ValueError(
                    f"Argument `fused=True` needs float32 or float64 variables; variable "
                    f"{variable.name!r} is {dtype}. Received: fused=True"
                )
            return False
        if not _tf_kernels.in_xla_context():
            return True
        choice = self._under_xla()
        if choice == "unsupported" and self.fused:
            raise ValueError(
                f"Argument `fused=True` is not available under XLA (jit_compile=True) for "
                f"{self._convention()}: its TensorFlow kernel has no XLA implementation. "
                "Received: fused=True"
            )
        return choice == "fused" or (choice == "portable" and bool(self.fused))

    def update_step(self, gradient, variable, learning_rate):
        """Apply this optimizer's rule to one variable (called by `apply`)."""
        if isinstance(learning_rate, (int, float)):  # from a callable
            learning_rate = constant(learning_rate, variable.dtype)
        else:
            learning_rate = ops.cast(learning_rate, variable.dtype)
        fused = self._uses_fused_kernel(variable)
        if keras.backend.backend() == "tensorflow":
            if _tf_kernels.is_indexed_slices(gradient):
                gradient = _tf_kernels.cast_slices(gradient, variable.dtype)
                # Row-wise updates only where they equal the dense update; every
                # other rule decays its state on all rows, as Keras's does.
                if fused and self._sparse_update(gradient, variable, learning_rate):
                    return
                gradient = _tf_kernels.densify(gradient)
        gradient = ops.cast(gradient, variable.dtype)
        if fused:
            self._fused_update(gradient, variable, learning_rate)
        else:
            self._portable_update(gradient, variable, learning_rate)

    # ---------------------------------------------------------------- helpers

    def _slot(self, slots, variable):
        return slots[self._get_variable_index(variable)]

    def _step(self, dtype):
        """The 1-based step ``t`` used by bias corrections, as in Keras."""
        return ops.cast(self.iterations + 1, dtype)

    def get_config(self):
        config = super().get_config()
        config["fused"] = self.fused
        config.update({name: getattr(self, name) for name in self._hyperparameters})
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        # Keras's version deserialises a schedule into the caller's dict; work on a copy.
        return super().from_config(dict(config), custom_objects=custom_objects)

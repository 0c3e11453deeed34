"""The `Args` entries every kerastools optimizer shares, written once.

A class docstring puts a placeholder line such as ``{{learning_rate}}`` where the
entry goes in its ``Args:`` section, and `fill_shared_args` (a class decorator)
replaces it with the text below, indented as the placeholder is, as Keras does
with ``{{base_optimizer_keyword_args}}``. Defaults are read from the class's
``__init__`` signature, so the documented default is the one the code uses.
"""

import inspect
import re
import textwrap

# Keras's base optimizer arguments that FusedOptimizer accepts through **kwargs.
BASE_OPTIMIZER_ARGUMENTS = (
    "weight_decay",
    "clipnorm",
    "clipvalue",
    "global_clipnorm",
    "use_ema",
    "ema_momentum",
    "ema_overwrite_frequency",
    "loss_scale_factor",
    "gradient_accumulation_steps",
    "name",
)

_PLACEHOLDER = re.compile(r"^([ \t]*)\{\{(\w+)\}\}[ \t]*$", re.MULTILINE)
_ANY_PLACEHOLDER = re.compile(r"\{\{.*?\}\}")


def _literal(value):
    """A default as the docstrings write it: ``1e-7``, not Python's ``1e-07``;
    strings in double quotes."""
    if isinstance(value, str):
        return f'"{value}"'
    return re.sub(r"e([+-])0+(\d)", r"e\1\2", repr(value))


def _entry(text):
    """One Google-style entry: first line as is, the rest indented by 4 spaces."""
    return textwrap.fill(text, width=80, subsequent_indent="    ", break_long_words=False, break_on_hyphens=False)


def _learning_rate(parameters):
    return _entry(
        "learning_rate: a float >= 0, a `keras.optimizers.schedules.LearningRateSchedule` "
        "or a callable returning the rate. "
        f"Defaults to `{_literal(parameters['learning_rate'].default)}`."
    )


def _fused(parameters):
    return _entry(
        "fused: `None` uses TensorFlow's fused kernels where they apply (TensorFlow "
        "backend, float32/float64 variables), `True` requires them (an error "
        "otherwise), `False` always uses the `keras.ops` path. "
        f"Defaults to `{_literal(parameters['fused'].default)}`."
    )


def _epsilon(parameters):
    return _entry(
        "epsilon: the small constant ``epsilon``, > 0. "
        f"Defaults to `{_literal(parameters['epsilon'].default)}`."
    )


def _base_optimizer_keyword_args(parameters):
    # A base argument the class takes explicitly (AdamW's weight_decay) is
    # documented with the class's own arguments, not here.
    names = [name for name in BASE_OPTIMIZER_ARGUMENTS if name not in parameters]
    other = " other" if len(names) < len(BASE_OPTIMIZER_ARGUMENTS) else ""
    listed = ", ".join(f"`{name}`" for name in names)
    return _entry(f"**kwargs: Keras's{other} base optimizer arguments ({listed}).")


SHARED_ARGS = {
    "learning_rate": _learning_rate,
    "fused": _fused,
    "epsilon": _epsilon,
    "base_optimizer_keyword_args": _base_optimizer_keyword_args,
}


def fill_shared_args(cls):
    """Class decorator: replace each ``{{name}}`` line of `cls.__doc__` with the
    shared `Args` entry ``name``. An unknown or misplaced placeholder raises, so
    no rendered docstring can keep one."""
    if cls.__doc__ is None:  # python -OO strips docstrings
        return cls
    parameters = inspect.signature(cls.__init__).parameters

    def render(match):
        indent, key = match.groups()
        if key not in SHARED_ARGS:
            raise ValueError(f"{cls.__name__}'s docstring has an unknown placeholder {{{{{key}}}}}")
        return textwrap.indent(SHARED_ARGS[key](parameters), indent)

    doc = _PLACEHOLDER.sub(render, cls.__doc__)
    leftover = _ANY_PLACEHOLDER.search(doc)
    if leftover:
        raise ValueError(
            f"{cls.__name__}'s docstring has a placeholder {leftover.group()} that is not "
            "alone on its line"
        )
    cls.__doc__ = doc
    return cls

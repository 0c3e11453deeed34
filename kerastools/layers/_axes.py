"""The `axis` argument of `BatchNormalization` and `Softmax`: an integer or a tuple."""

import numbers


def _is_int(value):
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def normalize_axis(axis):
    """An integer, or a non-empty tuple of distinct integers."""
    if _is_int(axis):
        return int(axis)
    if isinstance(axis, (list, tuple)) and axis and all(_is_int(a) for a in axis):
        if len(set(axis)) != len(axis):
            raise ValueError(f"Argument `axis` must not repeat an axis. Received: axis={axis!r}")
        return tuple(int(a) for a in axis)
    raise TypeError(
        f"Argument `axis` must be an integer or a non-empty tuple of integers. Received: axis={axis!r}"
    )


def resolve_axes(axis, rank):
    """The axes named by `axis` as sorted non-negative integers, checked against `rank`."""
    axes = (axis,) if isinstance(axis, int) else axis
    if any(not -rank <= a < rank for a in axes) or len({a % rank for a in axes}) != len(axes):
        raise ValueError(
            f"Argument `axis` must name distinct axes of the {rank}-D input. Received: axis={axis!r}"
        )
    return sorted(a % rank for a in axes)


def axis_config(axis):
    """Config entry for `axis`. Keras's legacy `.h5` loader deletes a non-integer
    ``"axis"`` from every layer config, so several axes travel as ``"axes"``."""
    return {"axis": axis} if isinstance(axis, int) else {"axes": list(axis)}


def axis_from_config(config):
    """Undo `axis_config` on a config about to be passed to the constructor."""
    config = dict(config)
    if "axes" in config:
        config["axis"] = tuple(config.pop("axes"))
    return config

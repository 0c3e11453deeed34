"""Arguments and variables of batch renormalisation (Ioffe 2017) for `BatchNormalization`."""

import keras

from kerastools._validation import check_number

CLIPPING_KEYS = ("rmax", "rmin", "dmax")


def check_renorm_clipping(renorm_clipping):
    """Validate `renorm_clipping` (a dict of optional ``rmax``, ``rmin``, ``dmax``) as Keras does.

    Returns the dict (a new ``{}`` for `None`) with its values as floats.
    """
    if renorm_clipping is None:
        return {}
    if not isinstance(renorm_clipping, dict):
        raise TypeError(
            "Argument `renorm_clipping` must be a dict with keys among "
            f"{list(CLIPPING_KEYS)}. Received: renorm_clipping={renorm_clipping!r}"
        )
    if set(renorm_clipping) - set(CLIPPING_KEYS):
        raise ValueError(
            "Received invalid keys for `renorm_clipping` argument: "
            f"{renorm_clipping}. Supported values: {list(CLIPPING_KEYS)}."
        )
    clipping = {
        key: None if value is None else check_number(f"renorm_clipping['{key}']", value)
        for key, value in renorm_clipping.items()
    }
    rmax, rmin, dmax = (clipping.get(key) for key in CLIPPING_KEYS)
    if rmin is not None and rmin < 0:
        raise ValueError(
            "rmin should be non-negative in the `renorm_clipping` argument (r is a "
            f"ratio of standard deviations). Received: renorm_clipping={renorm_clipping}"
        )
    if rmax is not None and rmin is not None and rmax < rmin:
        raise ValueError(
            "rmax should be greater than rmin in the `renorm_clipping` argument. "
            f"Received: renorm_clipping={renorm_clipping}"
        )
    if dmax is not None and dmax < 0:
        raise ValueError(
            "dmax should be non-negative in the `renorm_clipping` argument. "
            f"Received: renorm_clipping={renorm_clipping}"
        )
    return {key: value for key, value in clipping.items() if value is not None}



def clone_initializer(initializer):
    """A fresh copy of a Keras initializer (a seeded random one would repeat its draw)."""
    if isinstance(initializer, keras.initializers.Initializer):
        return initializer.__class__.from_config(initializer.get_config())
    return initializer


def sqrt_initializer(initializer):
    """An initializer giving ``sqrt`` of what `initializer` gives: the standard
    deviations start at the square root of the variance's initial value."""

    def initialize(shape, dtype=None):
        return keras.ops.sqrt(clone_initializer(initializer)(shape, dtype=dtype))

    return initialize

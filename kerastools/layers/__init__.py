"""kerastools.layers."""

__all__ = []

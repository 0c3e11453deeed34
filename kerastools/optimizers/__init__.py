"""kerastools.optimizers."""

__all__ = []

"""Saving and loading models to HDF5 (and `.keras`) with the complete optimizer state."""

__all__ = []

"""Keras callbacks: learning-rate logging and plateaus, HDF5 checkpoints, diagnostics."""

__all__ = []

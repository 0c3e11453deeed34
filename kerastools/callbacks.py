"""Keras callbacks: learning-rate logging and plateaus, HDF5 checkpoints, diagnostics."""

from kerastools._checkpoint import HDF5Checkpoint

__all__ = ["HDF5Checkpoint"]

"""Hyperparameter search on KerasTuner: search spaces, coarse-to-fine, panda and caviar."""

__all__ = []

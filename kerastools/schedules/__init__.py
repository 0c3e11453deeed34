"""kerastools.schedules."""

__all__ = []

"""vacant: answers calls to unassigned (vacant) telephone numbers."""

__version__ = "0.1.0"

"""vacant.cli."""

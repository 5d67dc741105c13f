"""vacant.routing."""

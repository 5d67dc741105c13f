"""vacant.transport."""

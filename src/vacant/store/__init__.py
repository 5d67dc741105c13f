"""vacant.store."""

"""vacant.api."""

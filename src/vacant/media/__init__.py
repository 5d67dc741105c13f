"""vacant.media."""

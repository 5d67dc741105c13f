"""vacant.service."""

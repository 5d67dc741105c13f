"""vacant.sip."""

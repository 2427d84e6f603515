"""teslaconnectivity api service."""

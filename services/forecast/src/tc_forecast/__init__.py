"""teslaconnectivity forecast service."""

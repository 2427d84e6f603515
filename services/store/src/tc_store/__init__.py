"""teslaconnectivity store service."""

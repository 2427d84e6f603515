"""teslaconnectivity provisioner service."""

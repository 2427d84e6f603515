"""teslaconnectivity ingest service."""

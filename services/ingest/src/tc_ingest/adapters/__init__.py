"""I/O implementations of the ingest ports."""

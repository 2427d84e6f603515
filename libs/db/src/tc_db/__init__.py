"""The database schema that store writes and api reads: versioned SQL migrations."""

"""A local HTTP server that speaks the Tessie API for a simulated fleet."""

"""Shared contracts of teslaconnectivity: event schemas, topic names, settings parts, clock, logging."""

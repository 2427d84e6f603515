"""Shared contracts of teslaconnectivity.

Event schemas, topic names, settings parts, clock, logging and Kafka plumbing.
"""

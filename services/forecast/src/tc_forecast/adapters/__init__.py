"""I/O implementations of the forecast service's ports."""

from tc_forecast.adapters.memory import InMemorySocStateRepo

__all__ = ["InMemorySocStateRepo"]

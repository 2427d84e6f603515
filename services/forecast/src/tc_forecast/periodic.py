"""`PeriodicTask` moved to `tc_common.periodic` (the store's retention runs on it too)."""

from tc_common.periodic import PeriodicTask

__all__ = ["PeriodicTask"]

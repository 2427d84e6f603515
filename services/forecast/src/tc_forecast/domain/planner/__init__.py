"""The risk-aware charge planner (pure): slots, energy, cost range and readiness."""

"""The forecast service's pure core: no frameworks, no I/O, time and state passed in.

State of charge (``soc``), the changelog keys (``changelog``), price forecasts (``prices``),
consumer prices (``consumer_price``), behaviour profiles and departures (``behaviour``) and
the charge planner (``planner``).
"""

from tc_forecast.domain.changelog import changelog_key
from tc_forecast.domain.soc import SocState, track_soc

__all__ = ["SocState", "changelog_key", "track_soc"]

"""The forecast service's pure core: no frameworks, no I/O, time and state passed in.

Today it only tracks each vehicle's state of charge; price forecasts and charging plans will
join as sibling modules.
"""

from tc_forecast.domain.soc import SocState, track_soc

__all__ = ["SocState", "track_soc"]

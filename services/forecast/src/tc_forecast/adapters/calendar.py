"""Public holidays, from the maintained `holidays` package rather than a hand-kept table."""

from collections.abc import Container
from datetime import date

import holidays

# The settings value that turns public holidays off.
NO_HOLIDAYS = "none"


def supported_countries() -> frozenset[str]:
    return frozenset(holidays.list_supported_countries())


def public_holidays(country: str) -> Container[date]:
    """The public holidays of ``country`` (ISO alpha-2) in any year, or none for "none".

    The calendar fills in years lazily as dates are looked up, so it serves a service that
    runs for years.
    """
    if country.lower() == NO_HOLIDAYS:
        return frozenset()
    if country.upper() not in supported_countries():
        raise ValueError(f"no public holiday calendar for country {country!r}")
    return holidays.country_holidays(country.upper())

"""Failures of the Tessie source, shared by the port, the adapter and the poller.

Messages name the method, path template and status only: never a URL with query values, a
header or a token.
"""


class TessieError(Exception):
    """Base of every Tessie failure the poller handles."""


class TessieAuthError(TessieError):
    """Tessie rejected the token (401/403): retrying cannot help until someone fixes it."""

    def __init__(self, status_code: int) -> None:
        super().__init__(f"Tessie rejected the access token (HTTP {status_code})")
        self.status_code = status_code


class TessieVehicleNotFoundError(TessieError):
    """The VIN is not (or no longer) on this Tessie account (404)."""

    def __init__(self, vin: str) -> None:
        super().__init__(f"vehicle {vin} is not on this Tessie account (HTTP 404)")
        self.vin = vin


class TessieUnavailableError(TessieError):
    """Transient errors outlasted the retries of one call; try again next poll."""

    def __init__(self, reason: str, *, retry_after_s: float | None = None) -> None:
        super().__init__(f"Tessie unavailable: {reason}")
        self.retry_after_s = retry_after_s


class MarketSourceError(Exception):
    """Base of every market/weather source failure the market poller handles.

    Messages name the source, the request kind and the status only: never a URL (the ENTSO-E
    token travels in the query string).
    """

    def __init__(self, message: str, *, source: str) -> None:
        super().__init__(message)
        self.source = source


class MarketAuthError(MarketSourceError):
    """The source rejected the token or the User-Agent (401/403): fix the configuration."""


class MarketRequestError(MarketSourceError):
    """The source refused the request itself (e.g. an ENTSO-E 400 acknowledgement)."""


class MarketUnavailableError(MarketSourceError):
    """Transient errors outlasted the retries of one call; try again later."""

    def __init__(self, message: str, *, source: str, retry_after_s: float | None = None) -> None:
        super().__init__(message, source=source)
        self.retry_after_s = retry_after_s

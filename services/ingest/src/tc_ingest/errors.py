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

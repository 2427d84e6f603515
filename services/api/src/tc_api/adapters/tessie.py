"""``TessieFleet`` over Tessie's HTTP API: ``GET /vehicles`` with the customer's token.

Tessie's wire format stays here: the answer becomes a tuple of VINs. Nothing raised carries
the token (httpx's errors name the URL, which holds none: the token travels in a header).
"""

import re
from typing import Any

import httpx

from tc_api.domain import retry_after_s
from tc_api.ports import TessieRefusedError, TessieUnavailableError
from tc_common.events.accounts import VEHICLE_ID_PATTERN

# When Tessie does not say how long to wait.
DEFAULT_RETRY_AFTER_S = 30
_VIN = re.compile(VEHICLE_ID_PATTERN)


class HttpTessieFleet:
    def __init__(self, client: httpx.AsyncClient, base_url: str) -> None:
        self._client = client
        self._url = base_url.rstrip("/") + "/vehicles"

    async def vehicle_ids(self, token: str) -> tuple[str, ...]:
        try:
            response = await self._client.get(
                self._url, headers={"Authorization": f"Bearer {token}"}
            )
        except httpx.TimeoutException:
            raise TessieUnavailableError(
                "Tessie did not answer in time", DEFAULT_RETRY_AFTER_S
            ) from None
        except httpx.HTTPError as error:
            raise TessieUnavailableError(
                f"Tessie could not be reached ({type(error).__name__})", DEFAULT_RETRY_AFTER_S
            ) from None
        if response.status_code in (401, 403):
            raise TessieRefusedError(response.status_code)
        if response.status_code != 200:
            raise TessieUnavailableError(
                f"Tessie answered {response.status_code}",
                retry_after_s(response.headers.get("retry-after"), DEFAULT_RETRY_AFTER_S),
            )
        return _vins(response)


def _vins(response: httpx.Response) -> tuple[str, ...]:
    try:
        body: Any = response.json()
        vins = tuple(sorted({str(v["vin"]) for v in body["results"]}))
    except (ValueError, KeyError, TypeError):
        raise TessieUnavailableError(
            "Tessie's answer was not a vehicle list", DEFAULT_RETRY_AFTER_S
        ) from None
    if not all(_VIN.fullmatch(v) for v in vins):
        raise TessieUnavailableError(
            "Tessie listed a vehicle id that is no VIN", DEFAULT_RETRY_AFTER_S
        )
    return vins

"""A GET with bounded retries for the market and weather clients.

Transient answers (408, 429, 5xx, timeouts, connection errors) are retried with exponential
backoff and jitter, honouring ``Retry-After``; a ``Retry-After`` longer than the backoff cap
ends the call at once so the caller's loop can come back later. Every other answer is returned
for the client to interpret. Nothing here logs or raises a URL: ENTSO-E's token is a query
parameter, so messages name the source and a request label only.
"""

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable, Mapping

import httpx

from tc_common.clock import Clock, SystemClock
from tc_common.logging import redact
from tc_ingest.domain import is_transient, parse_retry_after, retry_delay_s
from tc_ingest.errors import MarketUnavailableError
from tc_ingest.settings import HttpRetrySettings

log = logging.getLogger(__name__)

ErrorHook = Callable[[str, str], None]
"""Called as ``on_error(source, status)`` for every failed attempt (metrics)."""


class RetryingGetter:
    """Issues GETs for one source on a shared ``httpx.AsyncClient``."""

    def __init__(
        self,
        source: str,
        http: httpx.AsyncClient,
        settings: HttpRetrySettings,
        *,
        sleep: Callable[[float], Awaitable[None]] | None = None,
        jitter: Callable[[], float] | None = None,
        on_error: ErrorHook | None = None,
        clock: Clock | None = None,
        secrets: tuple[str, ...] = (),
    ) -> None:
        self.source = source
        self._http = http
        self._settings = settings
        self._sleep = sleep or asyncio.sleep
        self._jitter = jitter or random.random
        self._on_error = on_error or (lambda _source, _status: None)
        self._clock = clock or SystemClock()
        self._secrets = secrets

    def count_error(self, status: str) -> None:
        self._on_error(self.source, status)

    async def get(
        self,
        path: str,
        *,
        what: str,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        attempts = self._settings.max_attempts
        reason = "no attempt"
        for attempt in range(1, attempts + 1):
            retry_after_s: float | None = None
            try:
                response = await self._http.get(path, params=params, headers=headers)
            except httpx.TimeoutException:
                reason = "timeout"
                self.count_error("timeout")
            except httpx.TransportError as error:
                reason = f"connection error ({type(error).__name__})"
                self.count_error("connection")
            else:
                if not is_transient(response.status_code):
                    return response
                reason = f"HTTP {response.status_code}"
                self.count_error(str(response.status_code))
                retry_after_s = parse_retry_after(
                    response.headers.get("Retry-After"), self._clock.now()
                )
            if retry_after_s is not None and retry_after_s > self._settings.backoff_cap_s:
                raise MarketUnavailableError(
                    f"{self.source} {what}: {reason}",
                    source=self.source,
                    retry_after_s=retry_after_s,
                )
            if attempt == attempts:
                break
            delay = retry_delay_s(
                attempt,
                retry_after_s=retry_after_s,
                base_s=self._settings.backoff_base_s,
                cap_s=self._settings.backoff_cap_s,
                jitter=self._jitter(),
            )
            log.info(
                "%s %s: %s; retry %d/%d in %.1fs",
                self.source,
                what,
                redact(reason, self._secrets),
                attempt,
                attempts - 1,
                delay,
            )
            await self._sleep(delay)
        raise MarketUnavailableError(
            f"{self.source} {what}: {reason} after {attempts} attempts", source=self.source
        )


class SecretInUrlFilter(logging.Filter):
    """Masks a secret in records of the ``httpx`` logger, which logs every request URL at INFO.

    ``configure_logging`` already quietens httpx and redacts registered secrets at the root
    handler; this filter sits on the logger itself so that the token is masked before any
    handler (a test's, a library's) sees the record, whatever the logging setup.
    """

    def __init__(self, secret: str) -> None:
        super().__init__()
        self._secret = secret

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if self._secret in message:
            record.msg = redact(message, [self._secret])
            record.args = None
        return True

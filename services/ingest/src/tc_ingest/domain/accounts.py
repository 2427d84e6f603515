"""Which customer accounts are polled, and when Tessie's answer to a token is news. Pure.

An account is polled while it has a registered token that Tessie has not refused: a refused
token stays refused (no retries against Tessie with it) until the account registers another
one (a new token id). What Tessie says about a token is published on a change only: a new
token accepted, a token refused, a token accepted again after a refusal.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal
from uuid import UUID

TokenAccess = Literal["accepted", "rejected"]


@dataclass(frozen=True)
class AccessSeen:
    """What Tessie answered to an account's token."""

    token_id: UUID
    access: TokenAccess
    http_status: int | None = None


@dataclass(frozen=True)
class PollerChanges:
    """Accounts whose pollers start, and whose stop."""

    start: frozenset[UUID]
    stop: frozenset[UUID]


def accounts_to_poll(
    registered: Mapping[UUID, UUID], rejected: Mapping[UUID, UUID]
) -> frozenset[UUID]:
    """Accounts (``account -> token id``) with a registered token Tessie has not refused
    (``rejected``: ``account -> the token id it refused``)."""
    return frozenset(
        account for account, token_id in registered.items() if rejected.get(account) != token_id
    )


def reconcile_pollers(wanted: Iterable[UUID], running: Iterable[UUID]) -> PollerChanges:
    want, run = frozenset(wanted), frozenset(running)
    return PollerChanges(start=want - run, stop=run - want)


def is_access_news(last: AccessSeen | None, seen: AccessSeen) -> bool:
    """True when ``seen`` differs from what was last said of the account (another token, or
    the other answer); another refusal status for the same refused token is no news."""
    return last is None or (last.token_id, last.access) != (seen.token_id, seen.access)


def affected_vehicles(
    polled: Iterable[str], listed_at_registration: Iterable[str]
) -> tuple[str, ...]:
    """The account's vehicles a refusal affects: those being polled, else (when Tessie refused
    the token before any vehicle was found) those listed when the token was registered."""
    found = sorted(set(polled))
    return tuple(found) if found else tuple(sorted(set(listed_at_registration)))

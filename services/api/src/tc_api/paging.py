"""Cursor pagination: one convention for every route that pages (telemetry, plans).

A page holds at most ``limit`` items of a time window, in the route's order. When more remain,
the page's ``next_cursor`` is an opaque string; the next page is the same route with
``cursor=<it>`` (and, if wanted, another ``limit``), *without* ``from``, ``to`` or ``order``: the
cursor carries them. The last page has ``next_cursor: null``.

Inside, a cursor is the rest of the window: after the last item for ascending order, before
it for descending (items are unique per vehicle and time, so nothing is skipped or repeated
however the data grows meanwhile). It is base64url JSON, not signed: a doctored cursor is
checked like any window the caller could have sent, and can only narrow what the key may read
anyway.
"""

import base64
import binascii
import json
from datetime import datetime, timedelta
from typing import Literal, cast

from tc_api.domain import InvalidQueryError

SortOrder = Literal["asc", "desc"]
VERSION = 1
# Timestamps are kept to the microsecond (PostgreSQL and Python alike).
_RESOLUTION = timedelta(microseconds=1)
CURSOR_DESCRIPTION = (
    "Where the previous page ended: its next_cursor, sent without from, to and order (the "
    "cursor carries them). Opaque; valid as long as the data it points into is kept "
    "(default: none, the first page)."
)
NEXT_CURSOR_DESCRIPTION = (
    "Pass it as 'cursor' for the next page (without from, to and order); null on the last page."
)


def encode(from_at: datetime, to_at: datetime, order: SortOrder) -> str:
    body = {"v": VERSION, "from": from_at.isoformat(), "to": to_at.isoformat(), "order": order}
    raw = json.dumps(body, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode(cursor: str) -> tuple[datetime, datetime, SortOrder]:
    """The window and order a cursor of ours carries; 422-worthy otherwise."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        body = json.loads(raw)
        if body["v"] != VERSION or body["order"] not in ("asc", "desc"):
            raise ValueError
        from_at, to_at = datetime.fromisoformat(body["from"]), datetime.fromisoformat(body["to"])
    except (binascii.Error, ValueError, KeyError, TypeError, UnicodeDecodeError):
        raise InvalidQueryError(
            "cursor", "not a cursor of this API: pass a page's next_cursor as it is"
        ) from None
    if from_at.utcoffset() is None or to_at.utcoffset() is None:
        raise InvalidQueryError("cursor", "not a cursor of this API: its window has no timezone")
    return from_at, to_at, cast(SortOrder, body["order"])


def rest_after(from_at: datetime, to_at: datetime, order: SortOrder, last_at: datetime) -> str:
    """The cursor of what the window holds beyond the item at ``last_at``."""
    if order == "asc":
        return encode(last_at + _RESOLUTION, to_at, order)
    return encode(from_at, last_at, order)


def refuse_mixed(cursor: str | None, given: set[str]) -> None:
    """A cursor stands for its window and order: sent together with any of them, it is a
    mistake (which one should win?)."""
    clash = sorted(given & {"from", "to", "order"})
    if cursor is not None and clash:
        raise InvalidQueryError(
            "cursor",
            f"a cursor carries its window and order: send it without {', '.join(clash)}",
        )

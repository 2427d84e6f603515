"""Query parameter types that read exactly what the OpenAPI document says they take.

Pydantic, in its lax mode, reads a number as a time (seconds since 1970): ``from=1.5`` would
be 1970-01-01T00:00:01.5Z, although the document says ``date-time``. A generated client never
sends that, a hand-written one by mistake might, and would get data for the wrong window
without a word. These types refuse anything but ISO 8601 text.
"""

import re
from datetime import date, datetime
from typing import Annotated

from pydantic import BeforeValidator

_NUMBER = re.compile(r"^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$")


def _iso_text(what: str, example: str):  # type: ignore[no-untyped-def]
    def check(value: object) -> object:
        if not isinstance(value, str | datetime | date) or (
            isinstance(value, str) and _NUMBER.match(value)
        ):
            raise ValueError(f"expected an ISO-8601 {what}, like {example}")
        return value

    return check


IsoDateTime = Annotated[
    datetime, BeforeValidator(_iso_text("date-time with a timezone", "2026-11-25T00:00:00Z"))
]
IsoDate = Annotated[date, BeforeValidator(_iso_text("date", "2026-11-25"))]

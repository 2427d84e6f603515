"""When a profile email that failed is tried again: pure, time passed in."""

from datetime import datetime, timedelta


def next_attempt_at(
    attempts: int,
    now: datetime,
    *,
    permanent: bool,
    initial_s: float,
    max_s: float,
    max_attempts: int,
) -> datetime | None:
    """After ``attempts`` failed attempts (the last one at ``now``): when to try again, or None
    to give up — at once for a permanent refusal (a mailbox that does not exist will not
    appear by waiting), else once ``max_attempts`` were made. The pause doubles from
    ``initial_s`` up to ``max_s``: a mail server that is down for an hour gets a handful of
    tries, not thousands."""
    if attempts < 1:
        raise ValueError("at least one attempt was made")
    if permanent or attempts >= max_attempts:
        return None
    pause_s = min(max_s, initial_s * 2 ** min(attempts - 1, 60))
    return now + timedelta(seconds=pause_s)

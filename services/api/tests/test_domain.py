from datetime import UTC, datetime, timedelta, timezone
from uuid import uuid4

import pytest

from tc_api.domain import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    OPERATOR,
    AccountKey,
    InvalidQueryError,
    Principal,
    SortOrder,
    TelemetryQuery,
    describe_duration,
    resolve_query,
)

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
CET = timezone(timedelta(hours=1))
# A wall-clock time without an offset: ambiguous, so the API refuses it.
NAIVE = NOW.replace(tzinfo=None)


@pytest.mark.parametrize(
    ("from_at", "to_at", "limit", "order", "expected"),
    [
        pytest.param(
            None,
            None,
            None,
            None,
            TelemetryQuery(NOW - timedelta(hours=24), NOW, DEFAULT_LIMIT, "asc"),
            id="nothing-given-last-24h-asc-1000",
        ),
        pytest.param(
            NOW - timedelta(days=3),
            None,
            None,
            None,
            TelemetryQuery(NOW - timedelta(days=3), NOW, DEFAULT_LIMIT, "asc"),
            id="only-from-runs-until-now",
        ),
        pytest.param(
            None,
            NOW - timedelta(days=2),
            None,
            None,
            TelemetryQuery(NOW - timedelta(days=3), NOW - timedelta(days=2), DEFAULT_LIMIT, "asc"),
            id="only-to-takes-24h-before-it",
        ),
        pytest.param(
            NOW - timedelta(days=31),
            NOW,
            1,
            "desc",
            TelemetryQuery(NOW - timedelta(days=31), NOW, 1, "desc"),
            id="31-days-limit-1-desc-is-the-largest-window",
        ),
        pytest.param(
            datetime(2026, 11, 25, 7, 0, tzinfo=CET),
            datetime(2026, 11, 25, 8, 0, tzinfo=CET),
            MAX_LIMIT,
            None,
            TelemetryQuery(
                datetime(2026, 11, 25, 6, 0, tzinfo=UTC),
                datetime(2026, 11, 25, 7, 0, tzinfo=UTC),
                MAX_LIMIT,
                "asc",
            ),
            id="offsets-become-utc",
        ),
        pytest.param(
            NOW + timedelta(hours=1),
            NOW + timedelta(hours=2),
            None,
            None,
            TelemetryQuery(
                NOW + timedelta(hours=1), NOW + timedelta(hours=2), DEFAULT_LIMIT, "asc"
            ),
            id="a-future-window-is-allowed-and-simply-empty",
        ),
    ],
)
def test_a_valid_query_gets_defaults_and_utc_bounds(
    from_at: datetime | None,
    to_at: datetime | None,
    limit: int | None,
    order: SortOrder | None,
    expected: TelemetryQuery,
) -> None:
    query = resolve_query(from_at=from_at, to_at=to_at, limit=limit, order=order, now=NOW)

    assert query == expected
    assert query.from_at.utcoffset() == timedelta(0)
    assert query.to_at.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    ("from_at", "to_at", "limit", "parameter", "message"),
    [
        pytest.param(
            NAIVE,
            None,
            None,
            "from",
            "must carry a timezone",
            id="naive-from",
        ),
        pytest.param(
            None,
            NAIVE,
            None,
            "to",
            "must carry a timezone",
            id="naive-to",
        ),
        pytest.param(NOW, NOW, None, "from", "before 'to'", id="empty-window"),
        pytest.param(NOW, NOW - timedelta(seconds=1), None, "from", "before 'to'", id="reversed"),
        pytest.param(
            NOW + timedelta(seconds=1),
            None,
            None,
            "from",
            "before 'to'",
            id="only-from-in-the-future",
        ),
        pytest.param(
            NOW - timedelta(days=31, seconds=1),
            NOW,
            None,
            "from",
            "at most 31 days",
            id="31-days-and-a-second",
        ),
        pytest.param(
            NOW - timedelta(days=40),
            None,
            None,
            "from",
            "at most 31 days",
            id="only-from-40-days-ago",
        ),
        pytest.param(None, None, 0, "limit", "between 1 and 10000", id="limit-0"),
        pytest.param(None, None, -5, "limit", "between 1 and 10000", id="limit-negative"),
        pytest.param(None, None, MAX_LIMIT + 1, "limit", "between 1 and 10000", id="limit-10001"),
    ],
)
def test_an_invalid_query_is_refused_with_a_message_naming_the_parameter(
    from_at: datetime | None,
    to_at: datetime | None,
    limit: int | None,
    parameter: str,
    message: str,
) -> None:
    with pytest.raises(InvalidQueryError) as raised:
        resolve_query(from_at=from_at, to_at=to_at, limit=limit, order=None, now=NOW)

    assert raised.value.parameter == parameter
    assert message in raised.value.message


@pytest.mark.parametrize(
    ("delta", "text"),
    [
        (timedelta(hours=24), "24 hours"),
        (timedelta(hours=72), "3 days"),
        (timedelta(days=7), "7 days"),
        (timedelta(hours=1), "1 hour"),
        (timedelta(minutes=90), "90 minutes"),
        (timedelta(seconds=45), "45 seconds"),
    ],
)
def test_durations_are_described_as_a_reader_writes_them(delta: timedelta, text: str) -> None:
    assert describe_duration(delta) == text


class TestAccountKeys:
    NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)

    def _key(self, state: str = "active", last_used_at: datetime | None = None) -> AccountKey:
        return AccountKey(uuid4(), uuid4(), state, last_used_at)

    @pytest.mark.parametrize(
        ("last_used_ago", "stale"),
        [(None, True), (timedelta(seconds=59), False), (timedelta(minutes=1), True)],
    )
    def test_a_keys_use_is_written_at_most_once_a_minute(
        self, last_used_ago: timedelta | None, stale: bool
    ) -> None:
        last_used = None if last_used_ago is None else self.NOW - last_used_ago

        assert self._key(last_used_at=last_used).use_is_stale(self.NOW) is stale

    @pytest.mark.parametrize(
        ("state", "active"),
        [("active", True), ("suspended", False), ("erasure_pending", False), ("erased", False)],
    )
    def test_only_an_active_accounts_keys_are_accepted(self, state: str, active: bool) -> None:
        assert self._key(state).account_active is active

    def test_the_operator_is_the_principal_without_an_account(self) -> None:
        assert OPERATOR.is_operator
        assert not Principal(account_id=uuid4()).is_operator

"""Which accounts are polled and when Tessie's answer to a token is news (pure)."""

from uuid import UUID

import pytest

from tc_ingest.domain.accounts import (
    AccessSeen,
    accounts_to_poll,
    affected_vehicles,
    is_access_news,
    reconcile_pollers,
)

ACCOUNT_A = UUID("a0000000-0000-4000-8000-00000000000a")
ACCOUNT_B = UUID("b0000000-0000-4000-8000-00000000000b")
TOKEN_1 = UUID("10000000-0000-4000-8000-000000000001")
TOKEN_2 = UUID("20000000-0000-4000-8000-000000000002")


class TestAccountsToPoll:
    def test_every_account_with_a_registered_token_is_polled(self) -> None:
        assert accounts_to_poll({ACCOUNT_A: TOKEN_1, ACCOUNT_B: TOKEN_2}, {}) == {
            ACCOUNT_A,
            ACCOUNT_B,
        }

    def test_an_account_whose_token_tessie_refused_is_not_polled_and_others_are(self) -> None:
        assert accounts_to_poll({ACCOUNT_A: TOKEN_1, ACCOUNT_B: TOKEN_2}, {ACCOUNT_A: TOKEN_1}) == {
            ACCOUNT_B
        }

    def test_a_new_token_after_a_refusal_is_polled_again(self) -> None:
        assert accounts_to_poll({ACCOUNT_A: TOKEN_2}, {ACCOUNT_A: TOKEN_1}) == {ACCOUNT_A}

    def test_an_account_without_a_token_is_not_polled(self) -> None:
        assert accounts_to_poll({}, {ACCOUNT_A: TOKEN_1}) == frozenset()


def test_pollers_start_for_new_accounts_and_stop_for_gone_ones() -> None:
    changes = reconcile_pollers(wanted={ACCOUNT_A}, running={ACCOUNT_B})

    assert changes.start == {ACCOUNT_A}
    assert changes.stop == {ACCOUNT_B}


@pytest.mark.parametrize(
    ("last", "seen", "news"),
    [
        (None, AccessSeen(TOKEN_1, "accepted"), True),
        (AccessSeen(TOKEN_1, "accepted"), AccessSeen(TOKEN_1, "accepted"), False),
        (AccessSeen(TOKEN_1, "accepted"), AccessSeen(TOKEN_1, "rejected", 401), True),
        (AccessSeen(TOKEN_1, "rejected", 401), AccessSeen(TOKEN_1, "rejected", 403), False),
        (AccessSeen(TOKEN_1, "rejected", 401), AccessSeen(TOKEN_2, "accepted"), True),
        (AccessSeen(TOKEN_1, "accepted"), AccessSeen(TOKEN_2, "accepted"), True),
    ],
    ids=[
        "first-answer",
        "accepted-again",
        "accepted-then-refused",
        "refused-401-then-403",
        "refused-then-new-token-accepted",
        "new-token-accepted",
    ],
)
def test_access_is_news_only_on_a_change(
    last: AccessSeen | None, seen: AccessSeen, news: bool
) -> None:
    assert is_access_news(last, seen) is news


def test_a_refusal_affects_the_polled_vehicles() -> None:
    assert affected_vehicles(["VIN2", "VIN1"], ["VIN9"]) == ("VIN1", "VIN2")


def test_a_refusal_before_any_vehicle_was_found_affects_those_listed_at_registration() -> None:
    assert affected_vehicles([], ["VIN9", "VIN8"]) == ("VIN8", "VIN9")

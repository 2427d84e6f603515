"""Invitation-only onboarding decisions, fed scripts of requests."""

import uuid
from datetime import timedelta

import pytest
from pydantic import ValidationError

from tc_common.events import (
    ProvisioningAcknowledged,
    ProvisioningRequested,
    invitation_sha256,
    new_invitation_code,
)
from tc_provisioner.domain import (
    Claim,
    Decision,
    Snapshot,
    decide,
    is_known_invitation,
)

from .support import NOW, DecisionBook, request

CODES = {f"INVITE-{i:03d}" for i in range(200)}
DIGESTS = frozenset(invitation_sha256(c) for c in CODES)


def decide_one(r: ProvisioningRequested, known: Snapshot, *, cap: int = 100) -> Decision:
    return decide(
        r,
        known,
        now=NOW,
        cap=cap,
        invitation_valid=is_known_invitation(r.invitation_sha256, DIGESTS),
    )


def run_script(
    requests: list[ProvisioningRequested], *, cap: int = 100, book: DecisionBook | None = None
) -> tuple[DecisionBook, list[ProvisioningAcknowledged]]:
    """Decide each request in turn from what the ones before it decided."""
    book = book or DecisionBook()
    answers = []
    for r in requests:
        decision = decide_one(r, book.snapshot(r), cap=cap)
        book.record(decision)
        answers.append(decision.answer)
    return book, answers


SAME = uuid.UUID(int=7)


@pytest.mark.parametrize(
    ("script", "cap", "expected"),
    [
        pytest.param(
            [request("INVITE-001")],
            100,
            [("accepted", "accepted: seat 1 of 100", 1)],
            id="invited-device-takes-the-first-seat",
        ),
        pytest.param(
            [request("NOT-AN-INVITE")],
            100,
            [("rejected", "rejected: the invitation code is not valid", 0)],
            id="unknown-invitation-is-rejected",
        ),
        pytest.param(
            [request("INVITE-001"), request("INVITE-001", email="bob@example.org")],
            100,
            [
                ("accepted", "accepted: seat 1 of 100", 1),
                ("rejected", "rejected: the invitation code has already been used", 1),
            ],
            id="invitation-is-single-use",
        ),
        pytest.param(
            [
                request("INVITE-001"),
                request("INVITE-002", email=" ADA@example.org", device="Pixel-8"),
            ],
            100,
            [
                ("accepted", "accepted: seat 1 of 100", 1),
                ("rejected", "rejected: device 'Pixel-8' already has a seat for this email", 1),
            ],
            id="one-seat-per-email-and-device-ignoring-case",
        ),
        pytest.param(
            [request("INVITE-001"), request("INVITE-002", device="ipad")],
            100,
            [
                ("accepted", "accepted: seat 1 of 100", 1),
                ("accepted", "accepted: seat 2 of 100", 2),
            ],
            id="second-device-of-a-person-takes-its-own-seat",
        ),
        pytest.param(
            [request("INVITE-001", request_id=SAME), request("INVITE-001", request_id=SAME)],
            100,
            [
                ("accepted", "accepted: seat 1 of 100", 1),
                ("accepted", "accepted: seat 1 of 100", 1),
            ],
            id="repeated-request-gets-the-same-answer-and-no-second-seat",
        ),
        pytest.param(
            [request("INVITE-001"), request("INVITE-002", email="bob@example.org")],
            1,
            [
                ("accepted", "accepted: seat 1 of 1", 1),
                ("rejected", "rejected: the private beta is full (1 of 1)", 1),
            ],
            id="full-beta-rejects",
        ),
        pytest.param(
            [request("INVITE-001"), request("INVITE-001", email="bob@example.org")],
            1,
            [
                ("accepted", "accepted: seat 1 of 1", 1),
                ("rejected", "rejected: the invitation code has already been used", 1),
            ],
            id="used-invitation-is-reported-before-a-full-beta",
        ),
    ],
)
def test_script_of_requests_is_answered_in_order(
    script: list[ProvisioningRequested], cap: int, expected: list[tuple[str, str, int]]
) -> None:
    _, answers = run_script(script, cap=cap)
    assert [(a.outcome, a.reason, a.seats_taken) for a in answers] == expected
    assert all(a.seats_total == cap and a.decided_at == NOW for a in answers)
    assert [a.request_id for a in answers] == [r.request_id for r in script]


def test_beta_cap_of_100_accepts_100_devices_and_rejects_the_101st() -> None:
    script = [request(f"INVITE-{i:03d}", email=f"user{i}@example.org") for i in range(101)]

    book, answers = run_script(script, cap=100)

    assert [a.outcome for a in answers] == ["accepted"] * 100 + ["rejected"]
    assert answers[99].reason == "accepted: seat 100 of 100"
    assert answers[100].reason == "rejected: the private beta is full (100 of 100)"
    assert len(book.seats) == 100
    assert invitation_sha256("INVITE-100") not in book.used_invitations


def test_repeated_request_keeps_its_answer_after_the_beta_filled_up() -> None:
    first = request("INVITE-001", email="early@example.org")
    book, (accepted,) = run_script([first], cap=1)
    book, _ = run_script([request("INVITE-002")], cap=1, book=book)

    repeated = decide_one(first, book.snapshot(first), cap=1)

    assert repeated == Decision(answer=accepted, claim=None, repeated=True)


def test_answer_given_before_is_repeated_whatever_else_changed() -> None:
    # Another provisioner, or this one before a restart, answered it; since then the seat,
    # the invitation and the whole beta were taken by others.
    r = request("INVITE-001")
    earlier = ProvisioningAcknowledged(
        request_id=r.request_id,
        decided_at=NOW.replace(year=2025),
        outcome="accepted",
        reason="accepted: seat 3 of 5",
        seats_taken=3,
        seats_total=5,
    )
    known = Snapshot(earlier=earlier, seats_taken=5, seat_taken=True, invitation_used=True)

    decision = decide_one(r, known, cap=5)

    assert decision == Decision(answer=earlier, claim=None, repeated=True)


def test_acceptance_claims_the_case_folded_seat_and_the_invitation_digest_never_the_code() -> None:
    r = request("INVITE-042", email=" Ada@Example.org ", device="Pixel-8")

    decision = decide_one(r, Snapshot(None, seats_taken=0, seat_taken=False, invitation_used=False))

    assert decision.claim == Claim(
        seat=("ada@example.org", "pixel-8"), invitation_digest=invitation_sha256("INVITE-042")
    )
    assert not decision.repeated
    assert "INVITE-042" not in repr(decision)


@pytest.mark.parametrize(
    ("code", "known"),
    [
        pytest.param("NOT-AN-INVITE", Snapshot(None, 0, False, False), id="unknown-invitation"),
        pytest.param("INVITE-001", Snapshot(None, 1, True, False), id="seat-taken"),
        pytest.param("INVITE-001", Snapshot(None, 1, False, True), id="invitation-used"),
        pytest.param("INVITE-001", Snapshot(None, 100, False, False), id="beta-full"),
    ],
)
def test_rejection_claims_nothing_and_is_new(code: str, known: Snapshot) -> None:
    decision = decide_one(request(code), known, cap=100)

    assert (decision.answer.outcome, decision.claim, decision.repeated) == (
        "rejected",
        None,
        False,
    )


def test_rejected_request_does_not_use_up_its_invitation() -> None:
    book, _ = run_script([request("INVITE-001"), request("INVITE-002", device="pixel-8")])
    _, (answer,) = run_script([request("INVITE-002", device="ipad")], book=book)
    assert answer.outcome == "accepted"


@pytest.mark.parametrize(
    ("code", "known"),
    [
        pytest.param("INVITE-007", True, id="configured-code"),
        pytest.param("invite-007", False, id="codes-are-case-sensitive"),
        pytest.param("", False, id="empty-code"),
    ],
)
def test_invitation_is_known_only_when_its_digest_is_configured(code: str, known: bool) -> None:
    assert is_known_invitation(invitation_sha256(code), DIGESTS) is known


def test_a_code_sent_in_clear_instead_of_its_digest_is_unknown() -> None:
    assert not is_known_invitation("INVITE-007", DIGESTS)


def test_a_request_cannot_carry_an_invitation_code_only_its_digest() -> None:
    fields = {
        "request_id": "6a3c8c57-7e0a-4a58-9a7f-3c2b1b8d4e10",
        "requested_at": "2026-11-25T09:00:00Z",
        "email": "ada@example.org",
        "device_name": "pixel-8",
    }
    with pytest.raises(ValidationError):
        ProvisioningRequested.model_validate({**fields, "invitation_sha256": "INVITE-007"})
    with pytest.raises(ValidationError):
        ProvisioningRequested.model_validate({**fields, "invitation_code": "INVITE-007"})
    sent = ProvisioningRequested.model_validate(
        {**fields, "invitation_code": "INVITE-007", "invitation_sha256": invitation_sha256("x")}
    )
    assert "INVITE-007" not in sent.model_dump_json()


def test_new_invitation_codes_carry_128_random_bits() -> None:
    codes = {new_invitation_code() for _ in range(100)}
    assert len(codes) == 100
    assert all(len(c) >= 22 for c in codes)


@pytest.mark.parametrize(
    ("expires_in", "outcome"),
    [
        pytest.param(timedelta(days=14), "accepted", id="issued-and-open"),
        pytest.param(timedelta(seconds=1), "accepted", id="open-for-one-more-second"),
        pytest.param(timedelta(0), "rejected", id="expiring-this-instant"),
        pytest.param(-timedelta(days=1), "rejected", id="expired-yesterday"),
        pytest.param(None, "rejected", id="never-issued-or-withdrawn"),
    ],
)
def test_an_operator_issued_code_is_valid_until_it_expires(
    expires_in: timedelta | None, outcome: str
) -> None:
    issued = "issued-by-tc-admin-invite"  # not among the configured codes
    known = Snapshot(
        None,
        0,
        False,
        False,
        invitation_expires_at=None if expires_in is None else NOW + expires_in,
    )
    decision = decide_one(request(issued), known)
    assert decision.answer.outcome == outcome
    if outcome == "rejected":
        assert decision.answer.reason == "rejected: the invitation code is not valid"

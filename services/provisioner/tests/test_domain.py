"""Invitation-only onboarding decisions, fed scripts of requests."""

import uuid

import pytest

from tc_common.events import ProvisioningAcknowledged, ProvisioningRequested
from tc_provisioner.domain import (
    ProvisioningState,
    decide,
    invitation_digest,
    is_known_invitation,
    restore_state,
)

from .support import NOW, request

CODES = {f"INVITE-{i:03d}" for i in range(200)}
DIGESTS = frozenset(invitation_digest(c) for c in CODES)


def run_script(
    requests: list[ProvisioningRequested], *, cap: int = 100, state: ProvisioningState | None = None
) -> tuple[ProvisioningState, list[ProvisioningAcknowledged]]:
    state = state or ProvisioningState()
    answers = []
    for r in requests:
        state, ack = decide(
            r,
            state,
            now=NOW,
            cap=cap,
            invitation_valid=is_known_invitation(r.invitation_code, DIGESTS),
        )
        answers.append(ack)
    return state, answers


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

    state, answers = run_script(script, cap=100)

    assert [a.outcome for a in answers] == ["accepted"] * 100 + ["rejected"]
    assert answers[99].reason == "accepted: seat 100 of 100"
    assert answers[100].reason == "rejected: the private beta is full (100 of 100)"
    assert state.seats_taken == 100
    assert invitation_digest("INVITE-100") not in state.used_invitations


def test_repeated_request_keeps_its_answer_after_the_beta_filled_up() -> None:
    first = request("INVITE-001", email="early@example.org")
    state, (accepted,) = run_script([first], cap=1)
    state, _ = run_script([request("INVITE-002")], cap=1, state=state)

    after, (repeated,) = run_script([first], cap=1, state=state)

    assert repeated == accepted
    assert after == state


def test_rejected_request_does_not_use_up_its_invitation() -> None:
    state, _ = run_script([request("INVITE-001"), request("INVITE-002", device="pixel-8")])
    _, (answer,) = run_script([request("INVITE-002", device="ipad")], state=state)
    assert answer.outcome == "accepted"


def test_state_keeps_invitation_digests_never_the_codes() -> None:
    state, _ = run_script([request("INVITE-042")])
    assert state.used_invitations == {invitation_digest("INVITE-042")}
    assert "INVITE-042" not in repr(state)


@pytest.mark.parametrize(
    ("code", "known"),
    [
        pytest.param("INVITE-007", True, id="configured-code"),
        pytest.param("invite-007", False, id="codes-are-case-sensitive"),
        pytest.param("", False, id="empty-code"),
    ],
)
def test_invitation_is_known_only_when_its_digest_is_configured(code: str, known: bool) -> None:
    assert is_known_invitation(code, DIGESTS) is known


def test_state_restored_from_the_history_decides_like_the_original() -> None:
    script = [
        request("INVITE-001"),
        request("NOPE", email="eve@example.org"),
        request("INVITE-002", device="ipad"),
        request("INVITE-002", email="bob@example.org"),
    ]
    state, answers = run_script(script, cap=3)
    repeat = script[0]

    restored = restore_state(script, [*answers, answers[0]])

    assert restored == state
    later = [
        repeat,
        request("INVITE-001", email="x@example.org"),
        request("INVITE-003", email="y@example.org"),
    ]
    assert run_script(later, cap=3, state=restored) == run_script(later, cap=3, state=state)


def test_accepted_answer_without_its_request_still_counts_as_decided() -> None:
    lost = request("INVITE-001")
    _, (ack,) = run_script([lost])

    restored = restore_state([], [ack])

    assert restored.decisions == {lost.request_id: ack}
    assert restored.seats_taken == 0

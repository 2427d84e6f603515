"""Invitation-only onboarding decisions: pure, with time and state passed in."""

import hashlib
import hmac
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Literal
from uuid import UUID

from tc_common.events import ProvisioningAcknowledged, ProvisioningRequested

SeatKey = tuple[str, str]  # (case-folded email, case-folded device name)


def invitation_digest(code: str) -> str:
    """The SHA-256 hex digest of an invitation code: the only form in which codes are kept."""
    return hashlib.sha256(code.encode()).hexdigest()


def is_known_invitation(code: str, known_digests: Iterable[str]) -> bool:
    """Whether the code's digest is one of ``known_digests`` (lower-case hex).

    Every digest is compared, in constant time, so the answer's timing does not tell how
    close a guess came.
    """
    candidate = invitation_digest(code)
    found = False
    for digest in known_digests:
        found |= hmac.compare_digest(candidate, digest)
    return found


def seat_key(request: ProvisioningRequested) -> SeatKey:
    return request.email.strip().casefold(), request.device_name.casefold()


@dataclass(frozen=True)
class ProvisioningState:
    """Everything the provisioner has decided so far.

    ``seats`` maps each accepted (email, device) to the request that took the seat;
    ``decisions`` holds every answer by request id, so a repeated request is answered the same;
    ``used_invitations`` holds the digests of the invitation codes that took a seat.
    """

    seats: Mapping[SeatKey, UUID] = field(default_factory=dict)
    decisions: Mapping[UUID, ProvisioningAcknowledged] = field(default_factory=dict)
    used_invitations: frozenset[str] = frozenset()

    @property
    def seats_taken(self) -> int:
        return len(self.seats)


def decide(
    request: ProvisioningRequested,
    state: ProvisioningState,
    *,
    now: datetime,
    cap: int,
    invitation_valid: bool,
) -> tuple[ProvisioningState, ProvisioningAcknowledged]:
    """Answer one request; return the state after it and the answer.

    In order: a request id answered before gets the same answer again (no second seat); an
    unknown invitation code is rejected (telling a stranger nothing else); an (email, device)
    that already has a seat is rejected; a used invitation code is rejected; a full beta is
    rejected; otherwise the request takes the next seat and uses up its invitation code.
    ``invitation_valid`` says whether the code is one of the configured ones
    (``is_known_invitation``). ``now`` MUST be aware UTC.
    """
    earlier = state.decisions.get(request.request_id)
    if earlier is not None:
        return state, earlier

    key = seat_key(request)
    digest = invitation_digest(request.invitation_code)
    taken = state.seats_taken

    def answer(
        outcome: Literal["accepted", "rejected"], reason: str, seats_taken: int
    ) -> ProvisioningAcknowledged:
        return ProvisioningAcknowledged(
            request_id=request.request_id,
            decided_at=now,
            outcome=outcome,
            reason=reason,
            seats_taken=seats_taken,
            seats_total=cap,
        )

    if not invitation_valid:
        ack = answer("rejected", "rejected: the invitation code is not valid", taken)
    elif key in state.seats:
        ack = answer(
            "rejected",
            f"rejected: device '{request.device_name}' already has a seat for this email",
            taken,
        )
    elif digest in state.used_invitations:
        ack = answer("rejected", "rejected: the invitation code has already been used", taken)
    elif taken >= cap:
        ack = answer("rejected", f"rejected: the private beta is full ({taken} of {cap})", taken)
    else:
        ack = answer("accepted", f"accepted: seat {taken + 1} of {cap}", taken + 1)
        return replace(
            state,
            seats={**state.seats, key: request.request_id},
            decisions={**state.decisions, request.request_id: ack},
            used_invitations=state.used_invitations | {digest},
        ), ack

    return replace(state, decisions={**state.decisions, request.request_id: ack}), ack


def restore_state(
    requests: Iterable[ProvisioningRequested], acknowledgements: Iterable[ProvisioningAcknowledged]
) -> ProvisioningState:
    """Rebuild the state from the history of requests and answers, both in topic order.

    Answers carry no email, device or code, so an accepted answer is joined with its request
    to restore the seat and the used invitation. An answer whose request is no longer
    available still counts as decided, but its seat cannot be restored: the request topic
    MUST keep its messages at least as long as the answer topic.
    """
    by_id = {r.request_id: r for r in requests}
    seats: dict[SeatKey, UUID] = {}
    decisions: dict[UUID, ProvisioningAcknowledged] = {}
    used: set[str] = set()
    for ack in acknowledgements:
        if ack.request_id in decisions:
            continue  # a repeated answer to a repeated request: the first one stands
        decisions[ack.request_id] = ack
        request = by_id.get(ack.request_id)
        if ack.outcome == "accepted" and request is not None:
            seats[seat_key(request)] = request.request_id
            used.add(invitation_digest(request.invitation_code))
    return ProvisioningState(seats=seats, decisions=decisions, used_invitations=frozenset(used))

"""Invitation-only onboarding decisions: pure, with time and what was decided before passed in."""

import hmac
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from tc_common.events import ProvisioningAcknowledged, ProvisioningRequested

SeatKey = tuple[str, str]  # (case-folded email, case-folded device name)


def is_known_invitation(candidate: str, known_digests: Iterable[str]) -> bool:
    """Whether an invitation digest (lower-case SHA-256 hex, as requests carry it) is one of
    ``known_digests``. The provisioner never sees a code: the edge digests it.

    Every digest is compared, in constant time, so the answer's timing does not tell how
    close a guess came.
    """
    found = False
    for digest in known_digests:
        found |= hmac.compare_digest(candidate, digest)
    return found


def seat_key(request: ProvisioningRequested) -> SeatKey:
    return request.email.strip().casefold(), request.device_name.casefold()


@dataclass(frozen=True)
class Snapshot:
    """What has been decided so far, as far as one request is concerned.

    Read in the transaction that will store the decision, while no other decider (in this
    process or another) can change it: ``earlier`` is the answer already given to this request
    id, if any; ``seats_taken`` counts the accepted requests; ``seat_taken`` says whether the
    request's (email, device) already has a seat; ``invitation_used`` whether its invitation
    code already took one; ``invitation_expires_at`` when the code, if an operator issued it
    (``tc-admin invite``) and has not withdrawn it, stops being valid (None: not such a code).
    """

    earlier: ProvisioningAcknowledged | None
    seats_taken: int
    seat_taken: bool
    invitation_used: bool
    invitation_expires_at: datetime | None = None

    def invitation_issued_and_open(self, now: datetime) -> bool:
        return self.invitation_expires_at is not None and now < self.invitation_expires_at


@dataclass(frozen=True)
class Claim:
    """What an acceptance takes: a seat and the invitation (by its digest, never the code)."""

    seat: SeatKey
    invitation_digest: str


@dataclass(frozen=True)
class Decision:
    """The answer to one request and what it takes.

    ``repeated``: the request was answered before and ``answer`` is that first answer, so
    there is nothing new to store. ``claim`` is set exactly for a new acceptance.
    """

    answer: ProvisioningAcknowledged
    claim: Claim | None = None
    repeated: bool = False


def decide(
    request: ProvisioningRequested,
    known: Snapshot,
    *,
    now: datetime,
    cap: int,
    invitation_valid: bool,
) -> Decision:
    """Answer one request, given what was decided before it.

    In order: a request id answered before gets the same answer again (no second seat); an
    unknown invitation code is rejected (telling a stranger nothing else); an (email, device)
    that already has a seat is rejected; a used invitation code is rejected; a full beta is
    rejected; otherwise the request takes the next seat and uses up its invitation code.
    A code is valid when it is one of the configured ones (``invitation_valid``, from
    ``is_known_invitation``) or an issued one still open at ``now`` (``known``); an expired or
    withdrawn code is as unknown as a made-up one. ``now`` MUST be aware UTC.
    """
    if known.earlier is not None:
        return Decision(answer=known.earlier, repeated=True)

    taken = known.seats_taken

    def rejected(reason: str) -> Decision:
        return Decision(
            answer=ProvisioningAcknowledged(
                request_id=request.request_id,
                decided_at=now,
                outcome="rejected",
                reason=f"rejected: {reason}",
                seats_taken=taken,
                seats_total=cap,
            )
        )

    if not (invitation_valid or known.invitation_issued_and_open(now)):
        return rejected("the invitation code is not valid")
    if known.seat_taken:
        return rejected(f"device '{request.device_name}' already has a seat for this email")
    if known.invitation_used:
        return rejected("the invitation code has already been used")
    if taken >= cap:
        return rejected(f"the private beta is full ({taken} of {cap})")
    return Decision(
        answer=ProvisioningAcknowledged(
            request_id=request.request_id,
            decided_at=now,
            outcome="accepted",
            reason=f"accepted: seat {taken + 1} of {cap}",
            seats_taken=taken + 1,
            seats_total=cap,
        ),
        claim=Claim(seat=seat_key(request), invitation_digest=request.invitation_sha256),
    )

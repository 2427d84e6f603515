"""Customers as tenants: an account's changes and its API keys, as the other services learn them.

The accounts tables (migration 0010) are the record; these events tell the rest of the system
what changed, keyed by account id (or key id) on compacted topics, so the newest state of every
account stays on the bus and an erased account can be removed from it by a tombstone.

An API key never travels: ``ApiKeyChanged`` carries the SHA-256 digest of the key, the only form
in which it is stored. Keys are 256 random bits (``new_api_key``), so the digest cannot be
reversed by guessing.
"""

import hashlib
import secrets
from typing import Literal
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from tc_common.events.base import Event

AccountState = Literal["active", "suspended", "erasure_pending", "erased"]
API_KEY_SHA256_PATTERN = r"^[0-9a-f]{64}$"
VEHICLE_ID_PATTERN = r"^[A-Za-z0-9]{1,32}$"
# An email address as the api takes it: one @, something on each side, no blank and no
# control character anywhere. The blanks are spelt out rather than written \s, which JSON
# Schema (ECMA) and Python read differently; they are exactly what str.isspace() calls blank,
# so whatever matches also passes tc_db.accounts.normalised_email.
_NOT_IN_EMAIL = "@\\x00-\\x20\\x7f-\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000"
EMAIL_PATTERN = f"^[^{_NOT_IN_EMAIL}]+@[^{_NOT_IN_EMAIL}]+$"


def api_key_sha256(key: str) -> str:
    """The lower-case hex SHA-256 digest of an API key: how it is stored and looked up."""
    return hashlib.sha256(key.encode()).hexdigest()


def new_api_key() -> str:
    """A fresh API key: 256 random bits, URL-safe (43 characters), prefixed so that a leaked
    key is recognisable by secret scanners and people ("tck_")."""
    return "tck_" + secrets.token_urlsafe(32)


class AccountChanged(Event):
    """An account's state after a change: created, suspended, resumed, a vehicle linked or
    unlinked, erasure started or done."""

    schema_version: Literal[1] = 1
    account_id: UUID = Field(description="The tenant.")
    email: str = Field(
        max_length=254,
        description="Where the customer is reached; empty once the account is erased.",
    )
    state: AccountState = Field(description="What the account may do now.")
    vehicle_ids: tuple[str, ...] = Field(
        default=(), description="The VINs the account owns, in no particular order."
    )
    created_at: AwareDatetime = Field(description="When the account was created (UTC).")
    changed_at: AwareDatetime = Field(description="When this change was made (UTC).")
    reason: str = Field(
        max_length=200,
        description="What changed, in words an operator can act on; no personal data.",
        examples=["created by provisioning request 5b1c…", "suspended by an operator"],
    )

    def kafka_key(self) -> bytes:
        return str(self.account_id).encode()


class ApiKeyChanged(Event):
    """An API key issued or revoked. Carries the key's digest, never the key."""

    schema_version: Literal[1] = 1
    key_id: UUID = Field(description="The key's id: shown to the customer, safe to log.")
    account_id: UUID = Field(description="The account the key acts for.")
    key_sha256: str = Field(
        pattern=API_KEY_SHA256_PATTERN,
        description="The SHA-256 hex digest (lower case) of the key.",
    )
    label: str = Field(default="", max_length=64, description="The customer's name for it.")
    issued_at: AwareDatetime = Field(description="When the key was issued (UTC).")
    revoked_at: AwareDatetime | None = Field(
        default=None, description="When the key was revoked (UTC); none while it is valid."
    )

    def kafka_key(self) -> bytes:
        return str(self.key_id).encode()


TessieTokenStatus = Literal["registered", "revoked"]
TessieAccess = Literal["accepted", "rejected"]


class SealedTokenRecord(BaseModel):
    """A Tessie token as ciphertext: ``tc_vault.SealedToken.to_json_dict()``, field by field.

    Opened only by a holder of the key-encryption keys (``tc_vault.Vault.open``), and only
    where it is bound: the account id and token id are authenticated as associated data.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    format: Literal[1] = Field(description="The record's wire format.")
    account_id: UUID = Field(description="The account the token belongs to.")
    token_id: UUID = Field(description="The token's id: changes with every new token.")
    kek_version: int = Field(
        ge=1, description="Which key-encryption key version wrapped the data key."
    )
    wrapped_data_key: str = Field(
        description="The token's data key, wrapped by the key-encryption key (base64)."
    )
    ciphertext: str = Field(
        description="Nonce, AES-256-GCM ciphertext and tag of the token (base64)."
    )
    sealed_at: AwareDatetime = Field(description="When the token was sealed (UTC).")


class TessieTokenChanged(Event):
    """An account's Tessie token registered (as ciphertext) or revoked.

    The newest message per account is what ingest polls with: a ``registered`` one carries
    the sealed token, a ``revoked`` one carries none. Compaction then drops the ciphertext of
    a revoked token from the bus; an erasure ends the key with a tombstone.
    """

    schema_version: Literal[1] = 1
    account_id: UUID = Field(description="The tenant.")
    token_id: UUID = Field(description="The token this change is about.")
    status: TessieTokenStatus = Field(description="Registered (poll with it) or revoked.")
    sealed_token: SealedTokenRecord | None = Field(
        default=None, description="The token as ciphertext while registered; none if revoked."
    )
    vehicle_ids: tuple[str, ...] = Field(
        default=(), description="The VINs Tessie listed for this token when it was checked."
    )
    changed_at: AwareDatetime = Field(description="When the change was made (UTC).")
    reason: str = Field(
        max_length=200,
        description="Who or what made the change, in words an operator can act on; no "
        "personal data, never the token.",
        examples=["registered by the customer", "revoked by an operator", "re-wrapped (key 2)"],
    )

    @model_validator(mode="after")
    def _sealed_iff_registered(self) -> "TessieTokenChanged":
        if (self.status == "registered") != (self.sealed_token is not None):
            raise ValueError("a registered token carries its sealed token, a revoked one none")
        if self.sealed_token is not None and (
            self.sealed_token.account_id != self.account_id
            or self.sealed_token.token_id != self.token_id
        ):
            raise ValueError("the sealed token belongs to another account or token id")
        return self

    def kafka_key(self) -> bytes:
        return str(self.account_id).encode()


class TessieAccessChanged(Event):
    """Whether Tessie accepts an account's token, as ingest last found it: on a change only.

    ``rejected`` (Tessie answered 401/403) marks every vehicle of the account: no telemetry
    comes until the customer registers a new token. Other accounts are not affected.
    """

    schema_version: Literal[1] = 1
    account_id: UUID = Field(description="The tenant.")
    token_id: UUID = Field(description="The token Tessie accepted or rejected.")
    access: TessieAccess = Field(description="What Tessie answered to that token.")
    vehicle_ids: tuple[str, ...] = Field(
        default=(), description="The account's vehicles this affects."
    )
    http_status: int | None = Field(
        default=None, ge=100, le=599, description="Tessie's HTTP status when it rejected."
    )
    observed_at: AwareDatetime = Field(description="When ingest saw it (UTC).")

    def kafka_key(self) -> bytes:
        return str(self.account_id).encode()

"""Request and response bodies of the caller's own account: its details, its Tessie token
(taken, never given back) and its erasure. Apart from the telemetry and market bodies in
``tc_api.schemas``: these are the only ones a customer sends, and the token is a secret."""

import re
from typing import Literal
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, SecretStr, field_validator

from tc_api.domain import AccountView, TokenState
from tc_api.schemas import ResponseModel
from tc_common.events.accounts import EMAIL_PATTERN

TESSIE_TOKEN_MIN_LENGTH = 16
TESSIE_TOKEN_MAX_LENGTH = 512
TESSIE_TOKEN_PATTERN = r"^[!-~]+$"
_TESSIE_TOKEN = re.compile(TESSIE_TOKEN_PATTERN)


class TessieTokenIn(BaseModel):
    """The customer's Tessie access token (Tessie: Settings → API → access token)."""

    # The token is a secret: never echoed in an error, never shown in the document's examples.
    model_config = ConfigDict(frozen=True, extra="forbid", hide_input_in_errors=True)

    token: SecretStr = Field(
        min_length=TESSIE_TOKEN_MIN_LENGTH,
        max_length=TESSIE_TOKEN_MAX_LENGTH,
        description="The Tessie access token: checked with Tessie, then stored only encrypted. "
        "Never returned. Visible ASCII only (it travels in an HTTP header).",
        json_schema_extra={"pattern": TESSIE_TOKEN_PATTERN},
    )

    @field_validator("token")
    @classmethod
    def _visible_ascii(cls, token: SecretStr) -> SecretStr:
        # An HTTP header cannot carry anything else: checked here, not found out as a 500.
        if not _TESSIE_TOKEN.fullmatch(token.get_secret_value()):
            raise ValueError("a Tessie token is visible ASCII: letters, digits, punctuation")
        return token


class TessieTokenOut(ResponseModel):
    token_id: UUID = Field(
        description="The id of this registration: a new one for every token registered."
    )
    vehicle_ids: tuple[str, ...] = Field(
        description="The VINs Tessie lists for the token; they are now the account's."
    )
    registered_at: AwareDatetime = Field(description="When the token was registered (UTC).")


class TessieTokenStateOut(ResponseModel):
    token_id: UUID = Field(description="The id of the account's latest token registration.")
    registered: bool = Field(description="True while the token is in use; false once revoked.")
    registered_at: AwareDatetime = Field(description="When it was registered (UTC).")
    revoked_at: AwareDatetime | None = Field(
        description="When it was revoked (UTC); null while it is registered."
    )
    vehicle_ids: tuple[str, ...] = Field(description="The VINs Tessie listed for it.")

    @classmethod
    def from_state(cls, token: TokenState) -> "TessieTokenStateOut":
        return cls(
            token_id=token.token_id,
            registered=token.registered,
            registered_at=token.registered_at,
            revoked_at=token.revoked_at,
            vehicle_ids=token.vehicle_ids,
        )


class AccountOut(ResponseModel):
    account_id: UUID = Field(description="The account's id.")
    email: str = Field(description="Where the customer is reached.")
    state: Literal["active", "suspended", "erasure_pending", "erased"] = Field(
        description="What the account may do now."
    )
    vehicle_ids: tuple[str, ...] = Field(description="The VINs the account owns, sorted.")
    created_at: AwareDatetime = Field(description="When the account was created (UTC).")
    tessie_token: TessieTokenStateOut | None = Field(
        description="The account's Tessie token (never the token itself); null if none was "
        "ever registered."
    )

    @classmethod
    def from_view(cls, view: AccountView) -> "AccountOut":
        return cls(
            account_id=view.account_id,
            email=view.email,
            state=view.state,
            vehicle_ids=view.vehicle_ids,
            created_at=view.created_at,
            tessie_token=None if view.token is None else TessieTokenStateOut.from_state(view.token),
        )


class AccountPatch(BaseModel):
    """What a customer may rectify of their account."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    email: str = Field(
        min_length=3,
        max_length=254,
        pattern=EMAIL_PATTERN,
        description="The new email address (one account per address): one @, no blanks or "
        "control characters.",
        examples=["ola.nordmann@example.com"],
    )


class ErasureAccepted(ResponseModel):
    """An erasure under way."""

    account_id: UUID = Field(description="The account being erased.")
    state: Literal["erasure_pending"] = Field(
        description="erasure_pending until every service has erased its part; then erased."
    )
    requested_at: AwareDatetime = Field(description="When the erasure was requested (UTC).")

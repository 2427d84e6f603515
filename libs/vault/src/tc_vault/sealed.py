"""A sealed token: what is stored and carried instead of a Tessie token.

Only ciphertext travels: the token under its own data key, the data key wrapped by a
key-encryption key (KEK) whose version the record names. The serialised form is a flat JSON
object of strings and one integer (bytes as standard, padded base64), the same on Kafka and in
a database column::

    {"format": 1, "account_id": "<uuid>", "token_id": "<uuid>", "kek_version": 2,
     "wrapped_data_key": "<base64>", "ciphertext": "<base64>",
     "sealed_at": "2026-12-05T18:30:00+00:00"}
"""

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from tc_vault.aad import MAX_KEK_VERSION
from tc_vault.errors import SealedTokenMalformedError

NONCE_BYTES = 12
TAG_BYTES = 16
WIRE_FORMAT = 1


@dataclass(frozen=True, slots=True, repr=False)
class SealedToken:
    """One Tessie token at rest or in transit: ciphertext only, bound to account and token id.

    ``ciphertext`` is a 12-byte nonce followed by the AES-256-GCM ciphertext and tag of the
    UTF-8 token under the record's data key. ``wrapped_data_key`` is what the KEK of
    ``kek_version`` made of that data key (for the local keyring: nonce, ciphertext, tag).
    """

    account_id: UUID
    token_id: UUID
    kek_version: int
    wrapped_data_key: bytes
    ciphertext: bytes
    sealed_at: datetime

    def __post_init__(self) -> None:
        if not 1 <= self.kek_version <= MAX_KEK_VERSION:
            raise ValueError(f"kek_version {self.kek_version} is outside 1..{MAX_KEK_VERSION}")
        if not self.wrapped_data_key:
            raise ValueError("wrapped_data_key is empty")
        if len(self.ciphertext) < NONCE_BYTES + TAG_BYTES + 1:
            raise ValueError("ciphertext is too short to hold a nonce, a token and a tag")
        if self.sealed_at.utcoffset() is None:
            raise ValueError("sealed_at must be timezone-aware")

    def __repr__(self) -> str:
        return (
            f"SealedToken(account_id={self.account_id}, token_id={self.token_id}, "
            f"kek_version={self.kek_version}, sealed_at={self.sealed_at.isoformat()})"
        )

    __str__ = __repr__

    def to_json_dict(self) -> dict[str, Any]:
        """The record as a JSON-safe dict (see the module's docstring for its shape)."""
        return {
            "format": WIRE_FORMAT,
            "account_id": str(self.account_id),
            "token_id": str(self.token_id),
            "kek_version": self.kek_version,
            "wrapped_data_key": base64.b64encode(self.wrapped_data_key).decode("ascii"),
            "ciphertext": base64.b64encode(self.ciphertext).decode("ascii"),
            "sealed_at": self.sealed_at.isoformat(),
        }

    def to_bytes(self) -> bytes:
        """The record as compact UTF-8 JSON with sorted keys: the same record, the same bytes."""
        return json.dumps(self.to_json_dict(), sort_keys=True, separators=(",", ":")).encode()

    @classmethod
    def from_json_dict(cls, data: Any) -> "SealedToken":
        """Read back what :meth:`to_json_dict` wrote; raises :class:`SealedTokenMalformedError`."""
        try:
            wire = _Wire.model_validate(data)
        except ValidationError as error:
            fields = sorted(
                {".".join(str(p) for p in e["loc"]) or "record" for e in error.errors()}
            )
            raise SealedTokenMalformedError(
                f"not a sealed token: bad or missing {', '.join(fields)}"
            ) from None
        try:
            return cls(
                account_id=wire.account_id,
                token_id=wire.token_id,
                kek_version=wire.kek_version,
                wrapped_data_key=_b64decode(wire.wrapped_data_key, "wrapped_data_key"),
                ciphertext=_b64decode(wire.ciphertext, "ciphertext"),
                sealed_at=wire.sealed_at,
            )
        except ValueError as error:
            if isinstance(error, SealedTokenMalformedError):
                raise
            raise SealedTokenMalformedError(f"not a sealed token: {error}") from None

    @classmethod
    def from_bytes(cls, raw: bytes) -> "SealedToken":
        """Read back what :meth:`to_bytes` wrote; raises :class:`SealedTokenMalformedError`."""
        try:
            data = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            raise SealedTokenMalformedError("not a sealed token: not UTF-8 JSON") from None
        return cls.from_json_dict(data)


class _Wire(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    format: Literal[1]
    account_id: UUID
    token_id: UUID
    kek_version: int = Field(ge=1, le=MAX_KEK_VERSION, strict=True)
    wrapped_data_key: str
    ciphertext: str
    sealed_at: AwareDatetime


def _b64decode(text: str, field: str) -> bytes:
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        raise SealedTokenMalformedError(f"not a sealed token: {field} is not base64") from None

"""What the accounts' tests share: a vault with a fixed key, and token messages sealed with it
as the api seals them (``TessieTokenChanged`` carrying ``SealedToken.to_json_dict()``)."""

import base64
import uuid
from datetime import UTC, datetime
from uuid import UUID

from tc_common.events import SealedTokenRecord, TessieTokenChanged
from tc_vault import LocalKeyring, Vault, VaultSettings

# 32 distinct byte values: a key the vault accepts (not a typed one); tests only.
KEK_B64 = base64.b64encode(bytes(range(7, 39))).decode()
REGISTERED_AT = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)

ACCOUNT_A = UUID("a0000000-0000-4000-8000-00000000000a")
ACCOUNT_B = UUID("b0000000-0000-4000-8000-00000000000b")
TOKEN_A = "tessie-token-of-account-a-7Hq2"
TOKEN_B = "tessie-token-of-account-b-9Zx4"


def vault_settings() -> VaultSettings:
    return VaultSettings.model_validate({"keys": {"1": KEK_B64}, "current_version": 1})


def make_vault() -> Vault:
    return Vault(LocalKeyring.from_settings(vault_settings()))


def registered(
    vault: Vault,
    account_id: UUID,
    token: str,
    *,
    token_id: UUID | None = None,
    vehicle_ids: tuple[str, ...] = (),
    at: datetime = REGISTERED_AT,
) -> TessieTokenChanged:
    token_id = token_id or uuid.uuid4()
    sealed = vault.seal(account_id, token_id, token, at)
    return TessieTokenChanged(
        account_id=account_id,
        token_id=token_id,
        status="registered",
        sealed_token=SealedTokenRecord.model_validate(sealed.to_json_dict()),
        vehicle_ids=vehicle_ids,
        changed_at=at,
        reason="registered by the customer",
    )


def revoked(
    account_id: UUID, token_id: UUID, *, at: datetime = REGISTERED_AT
) -> TessieTokenChanged:
    return TessieTokenChanged(
        account_id=account_id,
        token_id=token_id,
        status="revoked",
        changed_at=at,
        reason="revoked by the customer",
    )


def token_texts(token: str) -> list[str]:
    """The forms a leaked token could take: as is, base64 (padded and not) and hex."""
    raw = token.encode()
    b64 = base64.b64encode(raw).decode()
    return [token, b64, b64.rstrip("="), base64.urlsafe_b64encode(raw).decode(), raw.hex()]

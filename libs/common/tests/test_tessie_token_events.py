"""The token events carry a vault record faithfully, and refuse records that don't fit them."""

import base64
import os
import uuid
from datetime import UTC, datetime

import pytest
from pydantic import SecretStr, ValidationError

from tc_common.events import SealedTokenRecord, TessieTokenChanged
from tc_vault import LocalKeyring, SealedToken, Vault, VaultSettings

TOKEN = "tessie-live-0c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f"
NOW = datetime(2026, 12, 6, 1, 0, tzinfo=UTC)


def vault() -> Vault:
    key = SecretStr(base64.b64encode(os.urandom(32)).decode())
    return Vault(LocalKeyring.from_settings(VaultSettings(keys={1: key}, current_version=1)))


def test_a_registered_token_travels_as_ciphertext_and_opens_again_after_the_trip() -> None:
    keys = vault()
    account_id, token_id = uuid.uuid4(), uuid.uuid4()
    sealed = keys.seal(account_id, token_id, TOKEN, NOW)
    event = TessieTokenChanged(
        account_id=account_id,
        token_id=token_id,
        status="registered",
        sealed_token=SealedTokenRecord.model_validate(sealed.to_json_dict()),
        vehicle_ids=("5YJ3E7EB0KF000001",),
        changed_at=NOW,
        reason="registered by the customer",
    )
    wire = event.model_dump_json()
    assert TOKEN not in wire
    assert base64.b64encode(TOKEN.encode()).decode() not in wire
    assert TOKEN.encode().hex() not in wire

    back = TessieTokenChanged.model_validate_json(wire)
    assert back.sealed_token is not None
    opened = keys.open(SealedToken.from_json_dict(back.sealed_token.model_dump(mode="json")))
    assert opened == TOKEN


def test_a_revoked_token_carries_no_ciphertext_and_a_registered_one_must() -> None:
    account_id, token_id = uuid.uuid4(), uuid.uuid4()
    sealed = SealedTokenRecord.model_validate(
        vault().seal(account_id, token_id, TOKEN, NOW).to_json_dict()
    )
    common = {"account_id": account_id, "token_id": token_id, "changed_at": NOW, "reason": "x"}
    with pytest.raises(ValidationError, match="revoked one none"):
        TessieTokenChanged(status="revoked", sealed_token=sealed, **common)
    with pytest.raises(ValidationError, match="revoked one none"):
        TessieTokenChanged(status="registered", **common)


def test_a_sealed_token_of_another_account_is_refused() -> None:
    account_id, token_id = uuid.uuid4(), uuid.uuid4()
    foreign = SealedTokenRecord.model_validate(
        vault().seal(uuid.uuid4(), token_id, TOKEN, NOW).to_json_dict()
    )
    with pytest.raises(ValidationError, match="another account"):
        TessieTokenChanged(
            account_id=account_id,
            token_id=token_id,
            status="registered",
            sealed_token=foreign,
            changed_at=NOW,
            reason="x",
        )

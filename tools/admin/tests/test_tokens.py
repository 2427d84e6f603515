"""tc-admin and the customers' Tessie tokens: an operator revokes one, and rotates the
key-encryption keys by re-wrapping every stored token, which is never decrypted.

Against a real PostgreSQL and a real Kafka-protocol broker, like test_cli.py; tokens are
registered the way the api registers them (tc_db.tokens with a token sealed by the vault).
"""

import base64
import json
import secrets
import uuid
from datetime import UTC, datetime
from typing import Any

import boto3
import psycopg
import pytest
from moto import mock_aws

from tc_common.events.accounts import TessieTokenChanged
from tc_common.topics import TESSIE_TOKEN_CHANGED_V1
from tc_db import tokens
from tc_testkit.kafka import consume, keyed
from tc_vault import LocalKeyring, SealedToken, Vault
from tc_vault_kms import AwsKmsKeyring

from .test_cli import create, rows, tc_admin

pytestmark = pytest.mark.integration

SEALED_AT = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def _key() -> bytes:
    return secrets.token_bytes(32)


def _use_keys(monkeypatch: pytest.MonkeyPatch, keys: dict[int, bytes], current: int) -> None:
    encoded = {str(v): base64.b64encode(k).decode() for v, k in keys.items()}
    monkeypatch.setenv("ADMIN_VAULT__KEYS", json.dumps(encoded))
    monkeypatch.setenv("ADMIN_VAULT__CURRENT_VERSION", str(current))


async def _register(url: str, vault: Vault, token: str) -> tuple[uuid.UUID, SealedToken]:
    account_id = await create(f"{uuid.uuid4().hex[:8]}@example.com")
    sealed = vault.seal(account_id, uuid.uuid4(), token, SEALED_AT)
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        await tokens.register_token(conn, sealed, (), at=SEALED_AT)
    return account_id, sealed


async def _stored(url: str, account_id: uuid.UUID) -> SealedToken:
    [(raw,)] = await rows(
        url, "SELECT sealed FROM tessie_tokens WHERE account_id = %s", (account_id,)
    )
    return SealedToken.from_bytes(bytes(raw))


async def _events(kafka: Any, account_id: uuid.UUID, count: int) -> list[TessieTokenChanged]:
    return await consume(
        kafka.bootstrap_servers,
        TESSIE_TOKEN_CHANGED_V1,
        keyed(str(account_id).encode(), TessieTokenChanged),
        until=lambda found: len(found) >= count,
        timeout_s=20,
    )


async def test_rotation_rewraps_every_token_without_touching_its_ciphertext(
    env: None,
    migrated: str,
    kafka: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    old, new = _key(), _key()
    before = Vault(LocalKeyring({1: old}, 1))
    registered = [
        await _register(migrated, before, f"tessie-{i}-{secrets.token_hex(16)}") for i in range(2)
    ]
    _use_keys(monkeypatch, {1: old, 2: new}, current=2)

    code, out, err = await tc_admin("rotate-keys")

    assert code == 0, err
    assert "2 token(s) to re-wrap under key version 2" in out
    assert "[1/2]" in out
    assert "[2/2]" in out
    only_new = Vault(LocalKeyring({2: new}, 2))
    for index, (account_id, sealed) in enumerate(registered):
        stored = await _stored(migrated, account_id)
        assert stored.kek_version == 2
        assert stored.ciphertext == sealed.ciphertext
        assert stored.wrapped_data_key != sealed.wrapped_data_key
        assert only_new.open(stored).startswith(f"tessie-{index}-")
        [event] = await _events(kafka, account_id, 1)
        assert event.status == "registered"
        assert event.sealed_token is not None
        assert event.sealed_token.kek_version == 2
        assert only_new.open(SealedToken.from_json_dict(event.sealed_token.model_dump(mode="json")))


async def test_rotating_again_changes_nothing(
    env: None,
    migrated: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    old, new = _key(), _key()
    await _register(migrated, Vault(LocalKeyring({1: old}, 1)), "tessie-" + secrets.token_hex(16))
    _use_keys(monkeypatch, {1: old, 2: new}, current=2)
    assert (await tc_admin("rotate-keys"))[0] == 0
    first = await rows(migrated, "SELECT sealed, updated_at FROM tessie_tokens")

    code, out, _ = await tc_admin("rotate-keys")

    assert code == 0
    assert "0 token(s) to re-wrap" in out
    assert "every token is wrapped by key version 2" in out
    assert await rows(migrated, "SELECT sealed, updated_at FROM tessie_tokens") == first


async def test_rotation_without_the_old_key_exits_2_naming_its_version(
    env: None,
    migrated: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await _register(
        migrated, Vault(LocalKeyring({1: _key()}, 1)), "tessie-" + secrets.token_hex(16)
    )
    _use_keys(monkeypatch, {2: _key()}, current=2)

    code, _, err = await tc_admin("rotate-keys")

    assert code == 2
    assert "key version 1" in err
    assert "Traceback" not in err


async def test_rotation_without_a_keyring_exits_2_naming_the_settings(env: None) -> None:
    code, _, err = await tc_admin("rotate-keys")

    assert code == 2
    assert "ADMIN_VAULT__KEYS" in err


async def test_a_token_registered_again_during_rotation_wins(migrated: str) -> None:
    old, new = _key(), _key()
    async with await psycopg.AsyncConnection.connect(migrated, autocommit=True) as conn:
        account_id = uuid.uuid4()
        await conn.execute(
            "INSERT INTO accounts (account_id, email, email_casefold, state, created_at, "
            "changed_at) VALUES (%s, 'r@example.com', 'r@example.com', 'active', %s, %s)",
            (account_id, SEALED_AT, SEALED_AT),
        )
        first = Vault(LocalKeyring({1: old}, 1)).seal(
            account_id, uuid.uuid4(), "tessie-first-0123456789", SEALED_AT
        )
        await tokens.register_token(conn, first, (), at=SEALED_AT)
        [stale] = await tokens.tokens_to_rewrap(conn, 2)
        # The customer registers a new token between the rotation's read and its write.
        second = Vault(LocalKeyring({1: old}, 1)).seal(
            account_id, uuid.uuid4(), "tessie-second-0123456789", SEALED_AT
        )
        await tokens.register_token(conn, second, (), at=SEALED_AT)
        rewrapped = Vault(LocalKeyring({1: old, 2: new}, 2)).rewrap(stale.sealed)

        assert await tokens.store_rewrapped(conn, stale, rewrapped, at=SEALED_AT) is None
        [(token_id,)] = await (await conn.execute("SELECT token_id FROM tessie_tokens")).fetchall()
        assert token_id == second.token_id


async def test_an_operator_revokes_a_token_and_revoking_again_publishes_it_again(
    env: None,
    migrated: str,
    kafka: Any,
) -> None:
    account_id, sealed = await _register(
        migrated, Vault(LocalKeyring({1: _key()}, 1)), "tessie-" + secrets.token_hex(16)
    )

    first = await tc_admin("revoke-token", str(account_id))
    again = await tc_admin("revoke-token", str(account_id))

    assert (first[0], again[0]) == (0, 0)
    assert "revoked" in first[1]
    assert await rows(
        migrated,
        "SELECT sealed, kek_version FROM tessie_tokens WHERE account_id = %s",
        (account_id,),
    ) == [(None, None)]
    events = await _events(kafka, account_id, 2)
    assert [(e.status, e.token_id, e.reason) for e in events] == [
        ("revoked", sealed.token_id, "revoked by an operator")
    ] * 2


async def test_revoking_where_no_token_was_registered_exits_2(env: None) -> None:
    account_id = await create(f"{uuid.uuid4().hex[:8]}@example.com")

    code, _, err = await tc_admin("revoke-token", str(account_id))

    assert code == 2
    assert "has no Tessie token" in err


async def test_rotation_with_the_keys_in_kms_rewraps_from_one_kms_key_to_the_next(
    env: None,
    migrated: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """ADMIN_VAULT_KMS__* instead of ADMIN_VAULT__*: the same rotation, Encrypt/Decrypt in KMS
    (moto's, in this process; the command's thread goes through it too)."""
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    with mock_aws():
        kms = boto3.client("kms", region_name="eu-central-1")
        key_1, key_2 = (kms.create_key()["KeyMetadata"]["Arn"] for _ in range(2))
        before = Vault(AwsKmsKeyring(kms, {1: key_1}, 1))
        account_id, sealed = await _register(migrated, before, "tessie-" + secrets.token_hex(16))
        monkeypatch.setenv("ADMIN_VAULT_KMS__REGION", "eu-central-1")
        monkeypatch.setenv("ADMIN_VAULT_KMS__KEY_IDS", json.dumps({"1": key_1, "2": key_2}))
        monkeypatch.setenv("ADMIN_VAULT_KMS__CURRENT_VERSION", "2")

        code, out, err = await tc_admin("rotate-keys")

        assert code == 0, err
        assert "1 token(s) to re-wrap under key version 2" in out
        stored = await _stored(migrated, account_id)
        assert stored.kek_version == 2
        assert stored.ciphertext == sealed.ciphertext
        assert Vault(AwsKmsKeyring(kms, {2: key_2}, 2)).open(stored).startswith("tessie-")


async def test_both_keyrings_at_once_stop_the_command(
    env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    _use_keys(monkeypatch, {1: _key()}, current=1)
    monkeypatch.setenv("ADMIN_VAULT_KMS__REGION", "eu-central-1")
    monkeypatch.setenv("ADMIN_VAULT_KMS__KEY_IDS", '{"1": "alias/tc-vault-v1"}')
    monkeypatch.setenv("ADMIN_VAULT_KMS__CURRENT_VERSION", "1")

    code, _, err = await tc_admin("rotate-keys")

    assert code != 0
    assert "not both" in err

"""A token sealed through KMS opens through KMS, and only where it was sealed."""

import base64
import dataclasses
from typing import Any
from uuid import UUID, uuid4

import pytest

from tc_vault import SealedToken, TokenUnreadableError, UnwrapFailedError, Vault
from tc_vault.aad import data_key_aad
from tc_vault_kms import AwsKmsKeyring

from .conftest import kms_settings
from .support import NOW, TOKEN


def test_a_token_sealed_through_kms_opens_through_kms(
    keyring: AwsKmsKeyring, account_id: UUID, token_id: UUID
) -> None:
    sealed = Vault(keyring).seal(account_id, token_id, TOKEN, NOW)

    assert sealed.kek_version == 1
    assert Vault(keyring).open(sealed) == TOKEN


def test_the_record_survives_its_serialised_form_and_another_process(
    key_v1: str, account_id: UUID, token_id: UUID
) -> None:
    stored = Vault(AwsKmsKeyring.from_settings(kms_settings({1: key_v1}, 1))).seal(
        account_id, token_id, TOKEN, NOW
    )
    elsewhere = Vault(AwsKmsKeyring.from_settings(kms_settings({1: key_v1}, 1)))

    assert elsewhere.open(SealedToken.from_bytes(stored.to_bytes())) == TOKEN


def test_the_wrapped_data_key_is_a_kms_ciphertext_of_the_version_s_key(
    kms: Any, keyring: AwsKmsKeyring, key_v1: str, account_id: UUID, token_id: UUID
) -> None:
    sealed = Vault(keyring).seal(account_id, token_id, TOKEN, NOW)

    # KMS says which key made it, and opens it only with the record's associated data.
    with pytest.raises(kms.exceptions.InvalidCiphertextException):
        kms.decrypt(CiphertextBlob=sealed.wrapped_data_key, KeyId=key_v1)
    plain = kms.decrypt(
        CiphertextBlob=sealed.wrapped_data_key,
        KeyId=key_v1,
        EncryptionContext={
            "tc-vault-aad": base64.b64encode(data_key_aad(account_id, token_id, 1)).decode()
        },
    )
    assert plain["KeyId"] == key_v1
    assert len(plain["Plaintext"]) == 32


def test_a_record_moved_to_another_account_does_not_open(
    keyring: AwsKmsKeyring, account_id: UUID, token_id: UUID
) -> None:
    sealed = Vault(keyring).seal(account_id, token_id, TOKEN, NOW)
    moved = dataclasses.replace(sealed, account_id=uuid4())

    with pytest.raises(TokenUnreadableError, match="data key does not unwrap"):
        Vault(keyring).open(moved)


def test_a_record_moved_to_another_token_id_does_not_open(
    keyring: AwsKmsKeyring, account_id: UUID, token_id: UUID
) -> None:
    sealed = Vault(keyring).seal(account_id, token_id, TOKEN, NOW)
    moved = dataclasses.replace(sealed, token_id=uuid4())

    with pytest.raises(TokenUnreadableError, match="data key does not unwrap"):
        Vault(keyring).open(moved)


def test_kms_itself_refuses_another_encryption_context(
    keyring: AwsKmsKeyring, account_id: UUID, token_id: UUID
) -> None:
    """The binding is KMS's, not only the token layer's: the wrapped data key alone, asked
    for under another record's associated data, is refused by Decrypt."""
    sealed = Vault(keyring).seal(account_id, token_id, TOKEN, NOW)

    assert len(keyring.unwrap(1, sealed.wrapped_data_key, data_key_aad(account_id, token_id, 1)))
    with pytest.raises(UnwrapFailedError):
        keyring.unwrap(1, sealed.wrapped_data_key, data_key_aad(uuid4(), token_id, 1))
    with pytest.raises(UnwrapFailedError):
        keyring.unwrap(1, sealed.wrapped_data_key, data_key_aad(account_id, uuid4(), 1))


def test_a_wrapped_data_key_swapped_in_from_another_record_does_not_open(
    keyring: AwsKmsKeyring, account_id: UUID
) -> None:
    first = Vault(keyring).seal(account_id, uuid4(), TOKEN, NOW)
    second = Vault(keyring).seal(account_id, uuid4(), TOKEN, NOW)
    recombined = dataclasses.replace(second, wrapped_data_key=first.wrapped_data_key)

    with pytest.raises(TokenUnreadableError, match="data key does not unwrap"):
        Vault(keyring).open(recombined)


def test_a_changed_byte_of_the_wrapped_data_key_does_not_open(
    keyring: AwsKmsKeyring, account_id: UUID, token_id: UUID
) -> None:
    sealed = Vault(keyring).seal(account_id, token_id, TOKEN, NOW)
    flipped = bytes([sealed.wrapped_data_key[-1] ^ 1])
    changed = dataclasses.replace(sealed, wrapped_data_key=sealed.wrapped_data_key[:-1] + flipped)

    with pytest.raises(TokenUnreadableError, match="data key does not unwrap"):
        Vault(keyring).open(changed)


def test_a_record_of_a_version_the_keyring_does_not_hold_does_not_open(
    keyring: AwsKmsKeyring, account_id: UUID, token_id: UUID
) -> None:
    sealed = Vault(keyring).seal(account_id, token_id, TOKEN, NOW)
    claims_v7 = dataclasses.replace(sealed, kek_version=7)

    with pytest.raises(TokenUnreadableError, match="key version 7 is not in the keyring"):
        Vault(keyring).open(claims_v7)

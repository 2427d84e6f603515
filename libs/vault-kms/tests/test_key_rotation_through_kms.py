"""Rotation from one KMS key to another: add, re-wrap, remove; the token layer is untouched."""

import dataclasses
from uuid import UUID, uuid4

import pytest

from tc_vault import TokenUnreadableError, Vault, VaultError
from tc_vault_kms import AwsKmsKeyring

from .conftest import kms_settings
from .support import NOW, TOKEN


def test_rewrap_moves_a_record_from_key_1_to_key_2_and_keeps_its_ciphertext(
    key_v1: str, key_v2: str, account_id: UUID, token_id: UUID
) -> None:
    before = Vault(AwsKmsKeyring.from_settings(kms_settings({1: key_v1}, 1)))
    sealed = before.seal(account_id, token_id, TOKEN, NOW)
    both = Vault(AwsKmsKeyring.from_settings(kms_settings({1: key_v1, 2: key_v2}, 2)))

    assert both.needs_rewrap(sealed)
    rewrapped = both.rewrap(sealed)

    assert rewrapped.kek_version == 2
    assert rewrapped.ciphertext == sealed.ciphertext
    assert rewrapped.wrapped_data_key != sealed.wrapped_data_key
    assert (rewrapped.account_id, rewrapped.token_id, rewrapped.sealed_at) == (
        account_id,
        token_id,
        NOW,
    )
    assert not both.needs_rewrap(rewrapped)
    assert both.open(rewrapped) == TOKEN
    # Once key 1 is gone from the settings, the re-wrapped record still opens...
    after = Vault(AwsKmsKeyring.from_settings(kms_settings({2: key_v2}, 2)))
    assert after.open(rewrapped) == TOKEN
    # ...and one missed by the re-wrap does not.
    with pytest.raises(TokenUnreadableError, match="key version 1 is not in the keyring"):
        after.open(sealed)


def test_both_versions_open_while_the_rotation_runs(
    key_v1: str, key_v2: str, account_id: UUID
) -> None:
    old = Vault(AwsKmsKeyring.from_settings(kms_settings({1: key_v1}, 1))).seal(
        account_id, uuid4(), TOKEN, NOW
    )
    both = Vault(AwsKmsKeyring.from_settings(kms_settings({1: key_v1, 2: key_v2}, 2)))
    new = both.seal(account_id, uuid4(), TOKEN, NOW)

    assert (old.kek_version, new.kek_version) == (1, 2)
    assert both.open(old) == TOKEN
    assert both.open(new) == TOKEN


def test_a_record_under_the_current_key_is_not_sent_to_kms_again(
    key_v1: str, key_v2: str, account_id: UUID, token_id: UUID
) -> None:
    both = Vault(AwsKmsKeyring.from_settings(kms_settings({1: key_v1, 2: key_v2}, 2)))
    sealed = both.seal(account_id, token_id, TOKEN, NOW)

    assert both.rewrap(sealed) is sealed


def test_a_record_claiming_another_key_version_does_not_open(
    key_v1: str, key_v2: str, account_id: UUID, token_id: UUID
) -> None:
    """Decrypt names the key the record's version maps to, and the version is in the context.

    Real KMS answers a blob of another key with IncorrectKeyException (→ "does not unwrap");
    moto 5.2 answers AccessDeniedException instead (→ KmsRefusedError). Either way it does not
    open, which is what is checked here.
    """
    both = Vault(AwsKmsKeyring.from_settings(kms_settings({1: key_v1, 2: key_v2}, 1)))
    sealed = both.seal(account_id, token_id, TOKEN, NOW)

    with pytest.raises(VaultError):
        both.open(dataclasses.replace(sealed, kek_version=2))

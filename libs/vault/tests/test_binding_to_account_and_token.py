"""A ciphertext opens only in its own record: moved, recombined or changed, it does not open."""

import dataclasses
from uuid import UUID, uuid4

import pytest

from tc_vault import SealedToken, TokenUnreadableError, Vault

from .support import NOW, TOKEN, random_key, vault_of


def test_a_record_moved_to_another_account_does_not_open(
    vault: Vault, account_id: UUID, token_id: UUID
) -> None:
    sealed = vault.seal(account_id, token_id, TOKEN, NOW)
    moved = dataclasses.replace(sealed, account_id=uuid4())
    with pytest.raises(TokenUnreadableError, match="data key does not unwrap"):
        vault.open(moved)


def test_a_record_moved_to_another_token_id_does_not_open(
    vault: Vault, account_id: UUID, token_id: UUID
) -> None:
    sealed = vault.seal(account_id, token_id, TOKEN, NOW)
    with pytest.raises(TokenUnreadableError, match="data key does not unwrap"):
        vault.open(dataclasses.replace(sealed, token_id=uuid4()))


def test_account_and_token_ids_swapped_do_not_open(vault: Vault) -> None:
    first, second = uuid4(), uuid4()
    sealed = vault.seal(first, second, TOKEN, NOW)
    with pytest.raises(TokenUnreadableError):
        vault.open(dataclasses.replace(sealed, account_id=second, token_id=first))


def test_wrapped_data_keys_swapped_between_two_records_open_neither(
    vault: Vault, account_id: UUID
) -> None:
    first = vault.seal(account_id, uuid4(), TOKEN, NOW)
    second = vault.seal(account_id, uuid4(), "another-token-of-the-same-account", NOW)
    swapped_first = dataclasses.replace(first, wrapped_data_key=second.wrapped_data_key)
    swapped_second = dataclasses.replace(second, wrapped_data_key=first.wrapped_data_key)
    for record in (swapped_first, swapped_second):
        with pytest.raises(TokenUnreadableError, match="data key does not unwrap"):
            vault.open(record)


def test_ciphertexts_swapped_between_two_records_open_neither(
    vault: Vault, account_id: UUID
) -> None:
    first = vault.seal(account_id, uuid4(), TOKEN, NOW)
    second = vault.seal(account_id, uuid4(), "another-token-of-the-same-account", NOW)
    with pytest.raises(TokenUnreadableError, match="ciphertext does not authenticate"):
        vault.open(dataclasses.replace(first, ciphertext=second.ciphertext))


def test_a_record_claiming_another_key_version_does_not_open(
    key_v1: str, account_id: UUID, token_id: UUID
) -> None:
    vault = vault_of({1: key_v1, 2: random_key()}, 1)
    sealed = vault.seal(account_id, token_id, TOKEN, NOW)
    with pytest.raises(TokenUnreadableError, match="version 2"):
        vault.open(dataclasses.replace(sealed, kek_version=2))


def test_a_record_from_another_keyring_does_not_open(account_id: UUID, token_id: UUID) -> None:
    sealed = vault_of({1: random_key()}, 1).seal(account_id, token_id, TOKEN, NOW)
    with pytest.raises(TokenUnreadableError, match="data key does not unwrap"):
        vault_of({1: random_key()}, 1).open(sealed)


def _flipped(data: bytes, at: int) -> bytes:
    changed = bytearray(data)
    changed[at] ^= 0x01
    return bytes(changed)


@pytest.mark.parametrize("at", [0, 11, 12, 30, -17, -1], ids=lambda at: f"byte {at}")
def test_a_changed_ciphertext_byte_does_not_open(
    vault: Vault, account_id: UUID, token_id: UUID, at: int
) -> None:
    # Nonce (0, 11), encrypted token (12, 30), tag (-17 is the last token byte, -1 the tag's).
    sealed = vault.seal(account_id, token_id, TOKEN, NOW)
    with pytest.raises(TokenUnreadableError, match="ciphertext does not authenticate"):
        vault.open(dataclasses.replace(sealed, ciphertext=_flipped(sealed.ciphertext, at)))


@pytest.mark.parametrize("at", [0, 11, 12, 43, 44, 59], ids=lambda at: f"byte {at}")
def test_a_changed_wrapped_key_byte_does_not_open(
    vault: Vault, account_id: UUID, token_id: UUID, at: int
) -> None:
    # Nonce (0-11), wrapped data key (12-43), tag (44-59).
    sealed = vault.seal(account_id, token_id, TOKEN, NOW)
    changed = dataclasses.replace(sealed, wrapped_data_key=_flipped(sealed.wrapped_data_key, at))
    with pytest.raises(TokenUnreadableError, match="data key does not unwrap"):
        vault.open(changed)


@pytest.mark.parametrize("keep", [12, 28, 59], ids=lambda n: f"{n} bytes")
def test_a_truncated_wrapped_key_does_not_open(
    vault: Vault, account_id: UUID, token_id: UUID, keep: int
) -> None:
    sealed = vault.seal(account_id, token_id, TOKEN, NOW)
    truncated = dataclasses.replace(sealed, wrapped_data_key=sealed.wrapped_data_key[:keep])
    with pytest.raises(TokenUnreadableError, match="data key does not unwrap"):
        vault.open(truncated)


def test_a_record_without_a_wrapped_key_is_not_one(
    vault: Vault, account_id: UUID, token_id: UUID
) -> None:
    sealed = vault.seal(account_id, token_id, TOKEN, NOW)
    with pytest.raises(ValueError, match="wrapped_data_key is empty"):
        dataclasses.replace(sealed, wrapped_data_key=b"")


def test_a_changed_record_read_back_from_json_does_not_open(
    vault: Vault, account_id: UUID, token_id: UUID
) -> None:
    data = vault.seal(account_id, token_id, TOKEN, NOW).to_json_dict()
    data["account_id"] = str(uuid4())
    with pytest.raises(TokenUnreadableError):
        vault.open(SealedToken.from_json_dict(data))

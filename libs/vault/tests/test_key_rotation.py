"""Rotation: a new key version wraps new data keys; re-wrapping moves old records onto it
without touching their ciphertext; once the old version is gone, only re-wrapped records open."""

from uuid import UUID, uuid4

import pytest

from tc_vault import TokenUnreadableError, Vault
from tc_vault import vault as vault_module

from .support import NOW, TOKEN, random_key, vault_of


def test_a_new_current_version_wraps_new_seals(key_v1: str, account_id: UUID) -> None:
    rotated = vault_of({1: key_v1, 2: random_key()}, 2)
    assert rotated.seal(account_id, uuid4(), TOKEN, NOW).kek_version == 2


def test_rewrap_moves_the_data_key_to_the_current_version_and_keeps_the_ciphertext(
    key_v1: str, account_id: UUID, token_id: UUID
) -> None:
    sealed = vault_of({1: key_v1}, 1).seal(account_id, token_id, TOKEN, NOW)
    key_v2 = random_key()
    rotated = vault_of({1: key_v1, 2: key_v2}, 2)
    assert rotated.needs_rewrap(sealed)
    # Before re-wrapping, both versions present: the old record still opens.
    assert rotated.open(sealed) == TOKEN

    rewrapped = rotated.rewrap(sealed)

    assert rewrapped.kek_version == 2
    assert rewrapped.ciphertext == sealed.ciphertext  # byte for byte
    assert rewrapped.wrapped_data_key != sealed.wrapped_data_key
    assert (rewrapped.account_id, rewrapped.token_id, rewrapped.sealed_at) == (
        account_id,
        token_id,
        NOW,
    )
    assert not rotated.needs_rewrap(rewrapped)
    assert rotated.open(rewrapped) == TOKEN
    # With version 1 removed, the re-wrapped record still opens.
    assert vault_of({2: key_v2}, 2).open(rewrapped) == TOKEN


def test_once_the_old_version_is_removed_only_rewrapped_records_open(
    key_v1: str, account_id: UUID
) -> None:
    old = vault_of({1: key_v1}, 1)
    records = [old.seal(account_id, uuid4(), f"{TOKEN}-{n}", NOW) for n in range(4)]
    key_v2 = random_key()
    rotated = vault_of({1: key_v1, 2: key_v2}, 2)
    rewrapped = [rotated.rewrap(r) for r in records[:2]]
    left_behind = records[2:]

    after_removal = vault_of({2: key_v2}, 2)

    assert [after_removal.open(r) for r in rewrapped] == [f"{TOKEN}-0", f"{TOKEN}-1"]
    for record in left_behind:
        with pytest.raises(TokenUnreadableError, match="key version 1 is not in the keyring"):
            after_removal.open(record)
        with pytest.raises(TokenUnreadableError, match="key version 1 is not in the keyring"):
            after_removal.rewrap(record)


def test_rewrap_never_decrypts_the_token(
    key_v1: str, account_id: UUID, token_id: UUID, monkeypatch: pytest.MonkeyPatch
) -> None:
    sealed = vault_of({1: key_v1}, 1).seal(account_id, token_id, TOKEN, NOW)
    rotated = vault_of({1: key_v1, 2: random_key()}, 2)

    class NoTokenCipher:
        def __init__(self, key: bytes) -> None:
            raise AssertionError("rewrap used the token layer's cipher")

    # The vault's own AES-GCM is the token layer; the keyring's (the key layer) stays usable.
    with monkeypatch.context() as patched:
        patched.setattr(vault_module, "AESGCM", NoTokenCipher)
        rewrapped = rotated.rewrap(sealed)
        with pytest.raises(AssertionError, match="token layer"):
            rotated.open(sealed)  # the patch bites where the token is decrypted
    assert rotated.open(rewrapped) == TOKEN


def test_rewrap_of_a_current_record_returns_it_unchanged(
    vault: Vault, account_id: UUID, token_id: UUID
) -> None:
    sealed = vault.seal(account_id, token_id, TOKEN, NOW)
    assert not vault.needs_rewrap(sealed)
    assert vault.rewrap(sealed) is sealed


def test_a_record_changed_in_transit_is_not_rewrapped_into_a_valid_one(
    key_v1: str, account_id: UUID, token_id: UUID
) -> None:
    sealed = vault_of({1: key_v1}, 1).seal(account_id, token_id, TOKEN, NOW)
    moved = type(sealed)(
        account_id=uuid4(),
        token_id=token_id,
        kek_version=1,
        wrapped_data_key=sealed.wrapped_data_key,
        ciphertext=sealed.ciphertext,
        sealed_at=NOW,
    )
    with pytest.raises(TokenUnreadableError, match="data key does not unwrap"):
        vault_of({1: key_v1, 2: random_key()}, 2).rewrap(moved)


def test_rolling_back_the_current_version_leaves_newer_records_readable(
    key_v1: str, account_id: UUID, token_id: UUID
) -> None:
    # A deployment that adds version 2 and then goes back to 1 (keeping 2) loses nothing.
    key_v2 = random_key()
    sealed = vault_of({1: key_v1, 2: key_v2}, 2).seal(account_id, token_id, TOKEN, NOW)
    back = vault_of({1: key_v1, 2: key_v2}, 1)
    assert back.needs_rewrap(sealed)
    assert back.open(back.rewrap(sealed)) == TOKEN

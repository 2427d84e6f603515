"""Neither a token nor a key shows in any repr, str or error message, in any usual encoding."""

import base64
import contextlib
import dataclasses
from uuid import UUID, uuid4

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from pydantic import SecretStr, ValidationError

from tc_vault import LocalKeyring, SealedToken, TokenUnreadableError, Vault, VaultSettings
from tc_vault.aad import data_key_aad, token_aad

from .support import NOW, TOKEN, random_key, settings, vault_of


def _forms(secret: bytes) -> list[str]:
    """The ways a secret could leak into text: as is, repr'd bytes, hex, base64 (both)."""
    forms = [
        secret.hex(),
        secret.hex().upper(),
        base64.b64encode(secret).decode(),
        base64.urlsafe_b64encode(secret).decode(),
        repr(secret)[2:-1],
    ]
    with contextlib.suppress(UnicodeDecodeError):
        forms.append(secret.decode("utf-8"))
    # Base64 of a secret starting at another offset shares no prefix: check inner runs too.
    forms += [base64.b64encode(secret[i:]).decode()[4:-4] for i in (1, 2)]
    return [f for f in forms if f]


def _assert_absent(text: str, secret: bytes) -> None:
    for form in _forms(secret):
        assert form not in text, f"a form of a secret shows in: {text[:80]}..."


def test_a_sealed_token_shows_ids_and_version_only(
    vault: Vault, account_id: UUID, token_id: UUID
) -> None:
    sealed = vault.seal(account_id, token_id, TOKEN, NOW)
    text = repr(sealed)
    assert text == str(sealed)
    assert str(account_id) in text
    assert str(token_id) in text
    assert "kek_version=1" in text
    _assert_absent(text, TOKEN.encode())
    _assert_absent(text, sealed.ciphertext)
    _assert_absent(text, sealed.wrapped_data_key)
    assert "b'" not in text


def test_the_vault_and_keyring_show_versions_only(key_v1: str) -> None:
    key_v2 = random_key()
    keyring = LocalKeyring.from_settings(settings({1: key_v1, 2: key_v2}, 2))
    vault = Vault(keyring)
    for text in (repr(keyring), str(keyring), repr(vault), str(vault)):
        assert "versions=[1, 2]" in text
        assert "current_version=2" in text
        for key in (key_v1, key_v2):
            _assert_absent(text, base64.b64decode(key))


def test_settings_show_no_key(key_v1: str) -> None:
    vault_settings = settings({1: key_v1}, 1)
    for text in (repr(vault_settings), str(vault_settings), vault_settings.model_dump_json()):
        _assert_absent(text, base64.b64decode(key_v1))


def test_an_unreadable_token_names_its_record_but_no_bytes(
    key_v1: str, account_id: UUID, token_id: UUID
) -> None:
    vault = vault_of({1: key_v1}, 1)
    sealed = vault.seal(account_id, token_id, TOKEN, NOW)
    failures = [
        dataclasses.replace(sealed, account_id=uuid4()),  # the data key does not unwrap
        dataclasses.replace(sealed, ciphertext=sealed.ciphertext[:-1] + b"\x00"),  # tag
        dataclasses.replace(sealed, kek_version=7),  # unknown version
    ]
    for record in failures:
        with pytest.raises(TokenUnreadableError) as raised:
            vault.open(record)
        error = raised.value
        text = f"{error!s} {error!r} {error.args!r}"
        assert str(record.account_id) in text
        assert str(token_id) in text
        assert f"key version {record.kek_version}" in text
        for secret in (TOKEN.encode(), base64.b64decode(key_v1), sealed.ciphertext):
            _assert_absent(text, secret)
        # No chained error that could carry them either.
        assert error.__cause__ is None
        assert error.__suppress_context__


def test_a_plaintext_that_is_not_utf8_is_refused_without_quoting_it(
    key_v1: str, account_id: UUID, token_id: UUID
) -> None:
    # Only a broken writer could seal such bytes: seal them below the vault's API.
    keyring = LocalKeyring.from_settings(settings({1: key_v1}, 1))
    vault = Vault(keyring)
    sealed = vault.seal(account_id, token_id, TOKEN, NOW)
    data_key = keyring.unwrap(1, sealed.wrapped_data_key, data_key_aad(account_id, token_id, 1))
    secret_bytes = b"\xffsecret-not-utf8\xfe"
    nonce = sealed.ciphertext[:12]
    body = AESGCM(data_key).encrypt(nonce, secret_bytes, token_aad(account_id, token_id))
    broken = dataclasses.replace(sealed, ciphertext=nonce + body)
    with pytest.raises(TokenUnreadableError, match="not UTF-8") as raised:
        vault.open(broken)
    _assert_absent(f"{raised.value!s} {raised.value!r}", secret_bytes)
    assert raised.value.__suppress_context__


def test_a_refused_key_setting_is_not_echoed() -> None:
    short = base64.b64encode(b"sixteen-byte-key").decode()
    with pytest.raises(ValidationError) as raised:
        VaultSettings(keys={1: SecretStr(short)}, current_version=1)
    assert short not in str(raised.value)
    assert "sixteen-byte-key" not in str(raised.value)


def test_a_malformed_record_error_does_not_quote_its_bytes(
    vault: Vault, account_id: UUID, token_id: UUID
) -> None:
    data = vault.seal(account_id, token_id, TOKEN, NOW).to_json_dict()
    data["kek_version"] = "not a version"
    with pytest.raises(ValueError, match="kek_version") as raised:
        SealedToken.from_json_dict(data)
    assert data["ciphertext"] not in str(raised.value)
    assert "not a version" not in str(raised.value)

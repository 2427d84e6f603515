"""Settings take versioned base64 keys and refuse, without echoing, any key that cannot be one.

A service composes them into its own settings (here tc_common's ServiceSettings, as the
services do); the library itself does not depend on tc_common."""

import base64
import os

import pytest
from pydantic import SecretStr, ValidationError
from pydantic_settings import SettingsConfigDict

from tc_common.settings import ServiceSettings
from tc_vault import LocalKeyring, VaultSettings

from .support import random_key, settings


def test_keys_and_current_version_come_from_json_as_a_service_reads_them() -> None:
    key_v1, key_v2 = random_key(), random_key()
    raw = f'{{"keys": {{"1": "{key_v1}", "2": "{key_v2}"}}, "current_version": 2}}'
    read = VaultSettings.model_validate_json(raw)
    assert read.current_version == 2
    assert read.key_bytes() == {1: base64.b64decode(key_v1), 2: base64.b64decode(key_v2)}
    keyring = LocalKeyring.from_settings(read)
    assert (keyring.current_version, keyring.versions) == (2, frozenset({1, 2}))


@pytest.mark.parametrize(
    "placeholder", ["", "  ", "changethis", "changeme", "secret", "password", "xxx", "CHANGEME"]
)
def test_a_placeholder_key_is_refused(placeholder: str) -> None:
    with pytest.raises(ValidationError, match="key version 1 is empty or a placeholder"):
        settings({1: placeholder}, 1)


@pytest.mark.parametrize("length", [0 + 1, 16, 24, 31, 33, 64])
def test_a_key_that_is_not_32_bytes_is_refused(length: int) -> None:
    key = base64.b64encode(os.urandom(length)).decode()
    with pytest.raises(ValidationError, match="key version 3 is not 32 bytes") as raised:
        settings({3: key}, 3)
    assert key not in str(raised.value)


@pytest.mark.parametrize(
    "pattern",
    [bytes(32), b"A" * 32, b"0123456789" * 3 + b"01", b"changethischangethischangethis!!"],
    ids=["zeros", "one letter", "repeated", "a word"],
)
def test_a_32_byte_key_that_is_typed_not_random_is_refused(pattern: bytes) -> None:
    with pytest.raises(ValidationError, match="looks like a placeholder"):
        settings({1: base64.b64encode(pattern).decode()}, 1)


@pytest.mark.parametrize("text", ["not base64 at all!", "ÆØÅ" * 11, random_key()[:-1]])
def test_a_key_that_is_not_standard_base64_is_refused(text: str) -> None:
    with pytest.raises(ValidationError, match=r"not standard base64|not 32 bytes"):
        settings({1: text}, 1)


def test_a_urlsafe_base64_key_is_refused_rather_than_misread() -> None:
    key = os.urandom(32)
    while b"+" not in base64.b64encode(key) and b"/" not in base64.b64encode(key):
        key = os.urandom(32)
    with pytest.raises(ValidationError, match="not standard base64"):
        settings({1: base64.urlsafe_b64encode(key).decode()}, 1)


def test_the_current_version_must_be_among_the_keys() -> None:
    with pytest.raises(ValidationError, match="current_version 2 is not among"):
        settings({1: random_key()}, 2)


def test_no_keys_at_all_is_refused() -> None:
    with pytest.raises(ValidationError, match="empty"):
        VaultSettings(keys={}, current_version=1)


def test_versions_start_at_one() -> None:
    with pytest.raises(ValidationError, match="outside"):
        settings({0: random_key(), 1: random_key()}, 1)


def test_the_same_key_under_two_versions_is_refused() -> None:
    key = random_key()
    with pytest.raises(ValidationError, match="versions 1 and 2 hold the same key"):
        settings({1: key, 2: key}, 2)


def test_the_keyring_built_directly_checks_keys_too() -> None:
    with pytest.raises(ValueError, match="not 32 bytes"):
        LocalKeyring({1: os.urandom(16)}, 1)
    with pytest.raises(ValueError, match="placeholder"):
        LocalKeyring({1: bytes(32)}, 1)
    with pytest.raises(ValueError, match="current key version 2"):
        LocalKeyring({1: os.urandom(32)}, 2)


def test_keys_are_secrets_in_the_settings() -> None:
    read = settings({1: random_key()}, 1)
    assert all(isinstance(value, SecretStr) for value in read.keys.values())


class _ServiceWithVault(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="DEMO_")
    vault: VaultSettings


def test_a_service_reads_its_vault_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    key_v1, key_v2 = random_key(), random_key()
    monkeypatch.setenv("DEMO_VAULT__KEYS", f'{{"1": "{key_v1}", "2": "{key_v2}"}}')
    monkeypatch.setenv("DEMO_VAULT__CURRENT_VERSION", "2")
    read = _ServiceWithVault()  # type: ignore[call-arg]
    assert read.vault.current_version == 2
    assert read.vault.key_bytes()[1] == base64.b64decode(key_v1)


def test_a_service_with_a_short_key_does_not_start_nor_echo_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    short = base64.b64encode(os.urandom(16)).decode()
    monkeypatch.setenv("DEMO_VAULT__KEYS", f'{{"1": "{short}"}}')
    monkeypatch.setenv("DEMO_VAULT__CURRENT_VERSION", "1")
    with pytest.raises(ValidationError, match="not 32 bytes") as raised:
        _ServiceWithVault()  # type: ignore[call-arg]
    assert short not in str(raised.value)

"""The KMS keyring's settings, read the way a service reads them, and the choice of keyring."""

import base64
import os

import pytest
from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from tc_vault import LocalKeyring, VaultSettings
from tc_vault_kms import AwsKmsKeyring, KmsVaultSettings, keyring_from

ARN_1 = "arn:aws:kms:eu-central-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
ARN_2 = "arn:aws:kms:eu-central-1:111122223333:key/0987dcba-09fe-87dc-65ba-ab0987654321"


class _ServiceSettings(BaseSettings):
    """A service's settings in miniature: both keyrings optional, as in api, ingest, admin."""

    model_config = SettingsConfigDict(env_prefix="SVC_", env_nested_delimiter="__")

    vault: VaultSettings | None = None
    vault_kms: KmsVaultSettings | None = Field(default=None)


def _local() -> VaultSettings:
    return VaultSettings.model_validate(
        {"keys": {"1": base64.b64encode(os.urandom(32)).decode()}, "current_version": 1}
    )


def test_a_service_reads_the_kms_keys_from_its_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SVC_VAULT_KMS__REGION", "eu-central-1")
    monkeypatch.setenv("SVC_VAULT_KMS__KEY_IDS", f'{{"1": "{ARN_1}", "2": "{ARN_2}"}}')
    monkeypatch.setenv("SVC_VAULT_KMS__CURRENT_VERSION", "2")

    settings = _ServiceSettings()

    assert settings.vault is None
    assert settings.vault_kms is not None
    assert settings.vault_kms.key_ids == {1: ARN_1, 2: ARN_2}
    assert settings.vault_kms.current_version == 2
    assert settings.vault_kms.endpoint_url is None


@pytest.mark.parametrize(
    ("key_ids", "current", "complaint"),
    [
        ({}, 1, "key_ids is empty"),
        ({1: ARN_1}, 2, "current_version 2 is not among"),
        ({1: ARN_1, 2: ARN_1}, 2, "versions 1 and 2 name the same key"),
        ({1: "changeme"}, 1, "not a KMS key ARN"),
        ({1: ""}, 1, "not a KMS key ARN"),
        ({0: ARN_1}, 1, "outside 1.."),
    ],
    ids=["no-keys", "current-not-held", "one-key-twice", "placeholder", "empty", "version-0"],
)
def test_unusable_kms_settings_are_refused_at_start(
    key_ids: dict[int, str], current: int, complaint: str
) -> None:
    with pytest.raises(ValidationError, match=complaint):
        KmsVaultSettings(region="eu-central-1", key_ids=key_ids, current_version=current)


@pytest.mark.parametrize(
    "key_id",
    [
        ARN_1,
        "1234abcd-12ab-34cd-56ef-1234567890ab",
        "alias/tc-vault-v1",
        "arn:aws:kms:eu-central-1:111122223333:alias/tc-vault-v1",
        "mrk-1234abcd12ab34cd56ef1234567890ab",
    ],
    ids=["key-arn", "key-id", "alias", "alias-arn", "multi-region-key"],
)
def test_every_form_kms_accepts_for_a_key_is_accepted(key_id: str) -> None:
    settings = KmsVaultSettings(region="eu-central-1", key_ids={1: key_id}, current_version=1)

    assert settings.key_ids[1] == key_id


def test_no_keyring_settings_give_no_keyring() -> None:
    assert keyring_from(None, None) is None


def test_local_settings_give_the_local_keyring() -> None:
    assert isinstance(keyring_from(_local(), None), LocalKeyring)


def test_kms_settings_give_the_kms_keyring() -> None:
    kms = KmsVaultSettings(region="eu-central-1", key_ids={1: ARN_1}, current_version=1)

    keyring = keyring_from(None, kms)

    assert isinstance(keyring, AwsKmsKeyring)
    assert keyring.current_version == 1


def test_both_keyrings_at_once_are_refused() -> None:
    kms = KmsVaultSettings(region="eu-central-1", key_ids={1: ARN_1}, current_version=1)

    with pytest.raises(ValueError, match="not both"):
        keyring_from(_local(), kms)

"""A faithful local AWS KMS (moto, in process) with two keys, one per key version.

moto intercepts botocore's requests before they leave the process, so the keyring under test is
built exactly as in production (``AwsKmsKeyring.from_settings``), with dummy credentials.
"""

from collections.abc import Iterator
from typing import Any
from uuid import UUID, uuid4

import boto3
import pytest
from moto import mock_aws

from tc_vault_kms import AwsKmsKeyring, KmsVaultSettings

from .support import REGION


@pytest.fixture
def aws_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    # Never the developer's own AWS profile or credentials: the fake only.
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")


@pytest.fixture
def aws(aws_credentials: None) -> Iterator[None]:
    with mock_aws():
        yield


@pytest.fixture
def kms(aws: None) -> Any:
    return boto3.client("kms", region_name=REGION)


@pytest.fixture
def key_v1(kms: Any) -> str:
    arn: str = kms.create_key(Description="tc-vault KEK v1")["KeyMetadata"]["Arn"]
    return arn


@pytest.fixture
def key_v2(kms: Any) -> str:
    arn: str = kms.create_key(Description="tc-vault KEK v2")["KeyMetadata"]["Arn"]
    return arn


def kms_settings(key_ids: dict[int, str], current: int) -> KmsVaultSettings:
    return KmsVaultSettings(region=REGION, key_ids=key_ids, current_version=current)


@pytest.fixture
def keyring(key_v1: str) -> AwsKmsKeyring:
    return AwsKmsKeyring.from_settings(kms_settings({1: key_v1}, 1))


@pytest.fixture
def account_id() -> UUID:
    return uuid4()


@pytest.fixture
def token_id() -> UUID:
    return uuid4()

"""What the keyring raises when KMS refuses, is away or throttles, and what its errors show."""

import base64
import contextlib
from uuid import UUID

import boto3
import pytest
from botocore.stub import Stubber

from tc_vault import KeyVersionUnknownError, UnwrapFailedError, Vault, VaultError
from tc_vault.aad import data_key_aad
from tc_vault_kms import (
    AwsKmsKeyring,
    KmsRefusedError,
    KmsUnavailableError,
    KmsVaultSettings,
)

from .conftest import kms_settings
from .support import NOW, REGION, TOKEN

DATA_KEY = bytes(range(100, 132))


def _forms(secret: bytes) -> list[str]:
    """The ways a secret could leak into text: as is, repr'd bytes, hex, base64 (both)."""
    forms = [
        secret.hex(),
        base64.b64encode(secret).decode(),
        base64.urlsafe_b64encode(secret).decode(),
        repr(secret)[2:-1],
    ]
    with contextlib.suppress(UnicodeDecodeError):
        forms.append(secret.decode("utf-8"))
    forms += [base64.b64encode(secret[i:]).decode()[4:-4] for i in (1, 2)]
    return [f for f in forms if f]


def _assert_shows_nothing_of(error: BaseException, *secrets: bytes) -> None:
    # from None: botocore's own errors may quote the request; they must not ride along.
    assert error.__cause__ is None
    assert error.__suppress_context__
    text = f"{error} {error!r} {error.args}"
    for secret in secrets:
        for form in _forms(secret):
            assert form not in text


def _stubbed(answer_code: str, status: int) -> tuple[AwsKmsKeyring, Stubber]:
    client = boto3.client(
        "kms", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="y"
    )
    stubber = Stubber(client)
    stubber.add_client_error(
        "decrypt",
        service_error_code=answer_code,
        # A message that quotes the request, as some services' messages do.
        service_message=f"could not decrypt {base64.b64encode(DATA_KEY).decode()}",
        http_status_code=status,
    )
    stubber.activate()
    return AwsKmsKeyring(client, {1: "alias/tc-vault-v1"}, 1), stubber


def test_a_version_without_a_key_id_is_unknown(keyring: AwsKmsKeyring) -> None:
    with pytest.raises(KeyVersionUnknownError, match="version 3"):
        keyring.wrap(3, DATA_KEY, b"aad")
    with pytest.raises(KeyVersionUnknownError, match="version 3"):
        keyring.unwrap(3, b"wrapped", b"aad")


def test_a_ciphertext_the_sdk_refuses_to_send_does_not_unwrap(keyring: AwsKmsKeyring) -> None:
    # An empty blob is refused by botocore before sending: the record's fault, not an outage.
    with pytest.raises(UnwrapFailedError):
        keyring.unwrap(1, b"", b"aad")


def test_a_ciphertext_kms_cannot_read_does_not_unwrap(keyring: AwsKmsKeyring) -> None:
    with pytest.raises(UnwrapFailedError) as caught:
        keyring.unwrap(1, b"not a kms ciphertext", b"aad")

    _assert_shows_nothing_of(caught.value, b"not a kms ciphertext")


@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("ThrottlingException", 400),
        ("LimitExceededException", 400),
        ("KMSInternalException", 500),
        ("DependencyTimeoutException", 503),
        ("SomethingNewAndBroken", 502),
    ],
    ids=["throttled", "rate-limited", "kms-internal", "dependency-timeout", "any-5xx"],
)
def test_throttling_and_kms_failures_are_retryable(code: str, status: int) -> None:
    keyring, stubber = _stubbed(code, status)

    with pytest.raises(KmsUnavailableError, match="try again later") as caught:
        keyring.unwrap(1, b"wrapped-data-key", b"aad")

    assert caught.value.retryable
    assert caught.value.cause == code
    _assert_shows_nothing_of(caught.value, DATA_KEY, b"wrapped-data-key")
    stubber.assert_no_pending_responses()


@pytest.mark.parametrize(
    "code",
    ["AccessDeniedException", "DisabledException", "NotFoundException", "KMSInvalidStateException"],
)
def test_a_refusal_is_not_retryable_and_not_the_record_s_fault(code: str) -> None:
    keyring, _ = _stubbed(code, 400)

    with pytest.raises(KmsRefusedError, match=code) as caught:
        keyring.unwrap(1, b"wrapped-data-key", b"aad")

    assert not caught.value.retryable
    _assert_shows_nothing_of(caught.value, DATA_KEY, b"wrapped-data-key")


def test_kms_out_of_reach_is_retryable_and_names_no_bytes(
    aws_credentials: None, account_id: UUID, token_id: UUID
) -> None:
    # No moto here: a real connection attempt. Port 9 (discard) on loopback: nothing
    # listens, the connection is refused at once.
    unreachable = KmsVaultSettings(
        region=REGION,
        endpoint_url="http://127.0.0.1:9",
        key_ids={1: "alias/tc-vault-v1"},
        current_version=1,
        timeout_s=1,
        max_attempts=1,
    )
    vault = Vault(AwsKmsKeyring.from_settings(unreachable))
    with pytest.raises(KmsUnavailableError, match="Encrypt with key version 1") as caught:
        vault.seal(account_id, token_id, TOKEN, NOW)

    _assert_shows_nothing_of(caught.value, TOKEN.encode())


def test_a_key_kms_does_not_know_is_refused_and_no_record_is_made(
    aws: None, account_id: UUID, token_id: UUID
) -> None:
    # moto 5.2 does not enforce a key's state (a disabled key or one pending deletion still
    # encrypts and decrypts there), so the refusal checked against the fake is a missing key;
    # the stubbed cases above cover the codes KMS gives for the other states.
    missing = "arn:aws:kms:eu-central-1:123456789012:key/00000000-0000-4000-8000-000000000000"
    vault = Vault(AwsKmsKeyring.from_settings(kms_settings({1: missing}, 1)))

    with pytest.raises(KmsRefusedError, match="NotFoundException") as caught:
        vault.seal(account_id, token_id, TOKEN, NOW)

    _assert_shows_nothing_of(caught.value, TOKEN.encode())


def test_an_unwrap_failure_through_the_vault_names_ids_not_bytes(
    keyring: AwsKmsKeyring, account_id: UUID, token_id: UUID
) -> None:
    vault = Vault(keyring)
    sealed = vault.seal(account_id, token_id, TOKEN, NOW)
    data_key = keyring.unwrap(1, sealed.wrapped_data_key, data_key_aad(account_id, token_id, 1))
    other = AwsKmsKeyring.from_settings(kms_settings({1: "alias/not-there"}, 1))

    with pytest.raises(VaultError) as caught:
        Vault(other).open(sealed)

    _assert_shows_nothing_of(caught.value, TOKEN.encode(), data_key, sealed.wrapped_data_key)


def test_the_keyring_shows_versions_only(key_v1: str, key_v2: str) -> None:
    keyring = AwsKmsKeyring.from_settings(kms_settings({1: key_v1, 2: key_v2}, 2))

    for text in (repr(keyring), repr(Vault(keyring))):
        assert "versions=[1, 2]" in text
        assert "current_version=2" in text
        assert key_v1 not in text

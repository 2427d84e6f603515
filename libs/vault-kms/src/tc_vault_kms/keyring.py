"""Key-encryption keys in AWS KMS, behind the vault's ``KeyEncryptionKeys`` port.

Each key version is one KMS key (a symmetric encryption key). ``wrap`` is KMS ``Encrypt`` of
the 32-byte data key, ``unwrap`` is ``Decrypt`` naming the key it expects; the vault's
associated data travels as the encryption context, so KMS itself refuses a wrapped key that is
opened for another account, token or key version. The KEKs never leave KMS; this process only
ever holds the data key of the token in hand.
"""

import base64
from collections.abc import Mapping
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, ParamValidationError

from tc_vault import KeyVersionUnknownError, UnwrapFailedError
from tc_vault.keys import DATA_KEY_BYTES
from tc_vault_kms.errors import KmsRefusedError, KmsUnavailableError
from tc_vault_kms.settings import KmsVaultSettings

# The one entry of the encryption context: base64 of the vault's associated data
# (``tc_vault.aad``: label, account id, token id, key version; none of it secret). KMS writes
# the context into CloudTrail, so every Decrypt there names the record it was for. Renaming
# this makes every record wrapped so far unreadable.
CONTEXT_NAME = "tc-vault-aad"

# The record does not decrypt under this key with this context: the port's "does not unwrap".
_DOES_NOT_UNWRAP = frozenset({"InvalidCiphertextException", "IncorrectKeyException"})
# KMS is there but slow, overloaded or failing: the same call may succeed later.
_TRY_AGAIN = frozenset(
    {
        "ThrottlingException",
        "LimitExceededException",
        "KMSInternalException",
        "DependencyTimeoutException",
        "RequestTimeout",
        "RequestTimeoutException",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "InternalFailure",
    }
)


class AwsKmsKeyring:
    """Wraps and unwraps data keys with the KMS keys of ``key_ids`` (version -> key ARN).

    ``client`` is a boto3 ``kms`` client (thread-safe; the SDK retries with backoff as its
    ``Config`` says). Calls block: they are made from the vault's synchronous methods.
    """

    __slots__ = ("_client", "_current", "_key_ids")

    def __init__(self, client: Any, key_ids: Mapping[int, str], current_version: int) -> None:
        if current_version not in key_ids:
            raise ValueError(f"current key version {current_version} is not among the key ids")
        self._client = client
        self._key_ids = dict(key_ids)
        self._current = current_version

    @classmethod
    def from_settings(cls, settings: KmsVaultSettings) -> "AwsKmsKeyring":
        client = boto3.client(
            "kms",
            region_name=settings.region,
            endpoint_url=settings.endpoint_url,
            config=Config(
                connect_timeout=settings.timeout_s,
                read_timeout=settings.timeout_s,
                retries={"max_attempts": settings.max_attempts, "mode": "standard"},
            ),
        )
        return cls(client, settings.key_ids, settings.current_version)

    @property
    def current_version(self) -> int:
        return self._current

    @property
    def versions(self) -> frozenset[int]:
        """Every version held: the current one and those kept until records are re-wrapped."""
        return frozenset(self._key_ids)

    def wrap(self, version: int, data_key: bytes, aad: bytes) -> bytes:
        if len(data_key) != DATA_KEY_BYTES:
            raise ValueError(f"a data key has {DATA_KEY_BYTES} bytes")
        key_id = self._key_id(version)
        try:
            answer = self._client.encrypt(
                KeyId=key_id, Plaintext=data_key, EncryptionContext=_context(aad)
            )
        except (ClientError, BotoCoreError) as error:
            # A wrap that fails is never the record's fault: refused or unavailable only.
            raise _kms_error("Encrypt", version, error, does_not_unwrap=False) from None
        blob: bytes = answer["CiphertextBlob"]
        return blob

    def unwrap(self, version: int, wrapped: bytes, aad: bytes) -> bytes:
        key_id = self._key_id(version)
        try:
            answer = self._client.decrypt(
                CiphertextBlob=wrapped,
                # Naming the key makes KMS refuse a blob of another key instead of decrypting it
                # with whichever key it names (IncorrectKeyException).
                KeyId=key_id,
                EncryptionContext=_context(aad),
            )
        except (ClientError, BotoCoreError) as error:
            raise _kms_error("Decrypt", version, error, does_not_unwrap=True) from None
        data_key: bytes = answer["Plaintext"]
        if len(data_key) != DATA_KEY_BYTES:
            raise UnwrapFailedError(version)
        return data_key

    def __repr__(self) -> str:
        return f"AwsKmsKeyring(versions={sorted(self._key_ids)}, current_version={self._current})"

    def _key_id(self, version: int) -> str:
        try:
            return self._key_ids[version]
        except KeyError:
            raise KeyVersionUnknownError(version) from None


def _context(aad: bytes) -> dict[str, str]:
    return {CONTEXT_NAME: base64.b64encode(aad).decode("ascii")}


def _kms_error(
    operation: str, version: int, error: ClientError | BotoCoreError, *, does_not_unwrap: bool
) -> Exception:
    """The port's error for what KMS (or the way to it) answered; raised ``from None`` by the
    caller, since botocore's errors may quote request parameters."""
    if isinstance(error, ParamValidationError) and does_not_unwrap:
        # Checked before sending: a stored blob KMS would not even accept (empty, over 6144
        # bytes) is a changed record, not an outage.
        return UnwrapFailedError(version)
    if isinstance(error, BotoCoreError):
        # Connection refused or reset, timeouts, DNS, no credentials: named by class only.
        return KmsUnavailableError(operation, version, type(error).__name__)
    code = str(error.response.get("Error", {}).get("Code", "unknown"))
    status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    if does_not_unwrap and code in _DOES_NOT_UNWRAP:
        return UnwrapFailedError(version)
    if code in _TRY_AGAIN or (isinstance(status, int) and status >= 500):
        return KmsUnavailableError(operation, version, code)
    return KmsRefusedError(operation, version, code)

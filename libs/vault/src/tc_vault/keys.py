"""Key-encryption keys (KEKs): the port, and the local keyring that implements it from settings.

A KEK never encrypts a token: it wraps the 32-byte data key of one token, with associated
data that names the token, its account and the KEK version (``tc_vault.aad``). Keys are
versioned; new data keys are always wrapped with ``current_version``, older versions stay
only until every record has been re-wrapped (see the package's README).

Production puts AWS KMS behind the same port: ``tc_vault_kms.AwsKmsKeyring`` (``libs/vault-kms``,
outside this pure package) makes ``wrap`` and ``unwrap`` KMS Encrypt and Decrypt with the
associated data as encryption context, each version a KMS key that never leaves KMS.
"""

import os
from collections.abc import Mapping
from typing import Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from tc_vault.errors import KeyVersionUnknownError, UnwrapFailedError
from tc_vault.sealed import NONCE_BYTES
from tc_vault.settings import KEY_BYTES, VaultSettings, check_key

DATA_KEY_BYTES = 32


class KeyEncryptionKeys(Protocol):
    """Wraps and unwraps data keys with versioned key-encryption keys.

    Implementations raise :class:`~tc_vault.errors.KeyVersionUnknownError` for a version they do
    not hold and :class:`~tc_vault.errors.UnwrapFailedError` when a wrapped key does not
    authenticate (wrong key, other associated data, changed bytes); neither error, nor any
    log line, may carry key material.
    """

    @property
    def current_version(self) -> int:
        """The version new data keys are wrapped with."""
        ...

    def wrap(self, version: int, data_key: bytes, aad: bytes) -> bytes:
        """The data key encrypted and authenticated, with ``aad``, under KEK ``version``."""
        ...

    def unwrap(self, version: int, wrapped: bytes, aad: bytes) -> bytes:
        """The data key back from what :meth:`wrap` made of it with the same version and aad."""
        ...


class LocalKeyring:
    """KEKs held in process memory, from settings: AES-256-GCM with a random 12-byte nonce.

    ``wrap`` returns ``nonce + ciphertext + tag`` (12 + 32 + 16 bytes for a data key).
    """

    __slots__ = ("_current", "_keys")

    def __init__(self, keys: Mapping[int, bytes], current_version: int) -> None:
        for version, key in keys.items():
            check_key(version, key)
        if current_version not in keys:
            raise ValueError(f"current key version {current_version} is not among the keys")
        self._keys = {version: AESGCM(key) for version, key in keys.items()}
        self._current = current_version

    @classmethod
    def from_settings(cls, settings: VaultSettings) -> "LocalKeyring":
        return cls(settings.key_bytes(), settings.current_version)

    @property
    def current_version(self) -> int:
        return self._current

    @property
    def versions(self) -> frozenset[int]:
        """Every version held: the current one and those kept until records are re-wrapped."""
        return frozenset(self._keys)

    def wrap(self, version: int, data_key: bytes, aad: bytes) -> bytes:
        if len(data_key) != DATA_KEY_BYTES:
            raise ValueError(f"a data key has {DATA_KEY_BYTES} bytes")
        nonce = os.urandom(NONCE_BYTES)
        return nonce + self._kek(version).encrypt(nonce, data_key, aad)

    def unwrap(self, version: int, wrapped: bytes, aad: bytes) -> bytes:
        kek = self._kek(version)
        try:
            data_key = kek.decrypt(wrapped[:NONCE_BYTES], wrapped[NONCE_BYTES:], aad)
        except (InvalidTag, ValueError):
            # ValueError: too short to hold a nonce and a tag. Either way: it does not open.
            raise UnwrapFailedError(version) from None
        if len(data_key) != DATA_KEY_BYTES:
            raise UnwrapFailedError(version)
        return data_key

    def __repr__(self) -> str:
        return f"LocalKeyring(versions={sorted(self._keys)}, current_version={self._current})"

    def _kek(self, version: int) -> AESGCM:
        try:
            return self._keys[version]
        except KeyError:
            raise KeyVersionUnknownError(version) from None


__all__ = ["DATA_KEY_BYTES", "KEY_BYTES", "KeyEncryptionKeys", "LocalKeyring"]

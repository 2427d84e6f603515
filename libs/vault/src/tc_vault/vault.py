"""The vault: seals Tessie tokens, opens them, and re-wraps their data keys on key rotation.

Envelope encryption: every token gets a fresh random 32-byte data key; the token is encrypted
with AES-256-GCM under that data key, and the data key is wrapped by the current
key-encryption key (``KeyEncryptionKeys``). Both layers carry associated data that names the
account and the token (``tc_vault.aad``), so a record copied onto another row or account, or
recombined from two records, does not open. Pure: no clock (``now`` is passed in), no logging,
no I/O besides the key port and the operating system's random bytes.
"""

import os
from datetime import datetime
from uuid import UUID

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from tc_vault.aad import data_key_aad, token_aad
from tc_vault.errors import KeyVersionUnknownError, TokenUnreadableError, UnwrapFailedError
from tc_vault.keys import DATA_KEY_BYTES, KeyEncryptionKeys
from tc_vault.sealed import NONCE_BYTES, SealedToken


class Vault:
    """Seals and opens tokens with the key-encryption keys it is given."""

    __slots__ = ("_keys",)

    def __init__(self, keys: KeyEncryptionKeys) -> None:
        self._keys = keys

    def seal(self, account_id: UUID, token_id: UUID, plaintext: str, now: datetime) -> SealedToken:
        """Encrypt ``plaintext`` under a fresh data key wrapped by the current KEK version."""
        if now.utcoffset() is None:
            raise ValueError("now must be timezone-aware")
        if not plaintext.strip():
            raise ValueError(f"token {token_id} of account {account_id} is empty")
        version = self._keys.current_version
        data_key = AESGCM.generate_key(bit_length=8 * DATA_KEY_BYTES)
        nonce = os.urandom(NONCE_BYTES)
        ciphertext = nonce + AESGCM(data_key).encrypt(
            nonce, plaintext.encode("utf-8"), token_aad(account_id, token_id)
        )
        wrapped = self._keys.wrap(version, data_key, data_key_aad(account_id, token_id, version))
        return SealedToken(
            account_id=account_id,
            token_id=token_id,
            kek_version=version,
            wrapped_data_key=wrapped,
            ciphertext=ciphertext,
            sealed_at=now,
        )

    def open(self, sealed: SealedToken) -> str:
        """The token; :class:`TokenUnreadableError` if the record does not open where it is."""
        data_key = self._unwrap(sealed)
        nonce, body = sealed.ciphertext[:NONCE_BYTES], sealed.ciphertext[NONCE_BYTES:]
        try:
            plain = AESGCM(data_key).decrypt(
                nonce, body, token_aad(sealed.account_id, sealed.token_id)
            )
        except InvalidTag:
            raise _unreadable(
                sealed, "the ciphertext does not authenticate (moved, recombined or changed)"
            ) from None
        try:
            return plain.decode("utf-8")
        except UnicodeDecodeError:
            # The error itself would quote the bytes: drop it.
            raise _unreadable(sealed, "the plaintext is not UTF-8") from None

    def needs_rewrap(self, sealed: SealedToken) -> bool:
        """Whether the record's data key is wrapped by another version than the current one."""
        return sealed.kek_version != self._keys.current_version

    def rewrap(self, sealed: SealedToken) -> SealedToken:
        """The record with its data key wrapped by the current KEK version.

        Only the data key is unwrapped and wrapped again: the token's ciphertext is not
        decrypted and stays byte for byte the same, as do the ids and ``sealed_at``. A record
        already under the current version is returned as it is.
        """
        version = self._keys.current_version
        if sealed.kek_version == version:
            return sealed
        data_key = self._unwrap(sealed)
        wrapped = self._keys.wrap(
            version, data_key, data_key_aad(sealed.account_id, sealed.token_id, version)
        )
        return SealedToken(
            account_id=sealed.account_id,
            token_id=sealed.token_id,
            kek_version=version,
            wrapped_data_key=wrapped,
            ciphertext=sealed.ciphertext,
            sealed_at=sealed.sealed_at,
        )

    def __repr__(self) -> str:
        return f"Vault(keys={self._keys!r})"

    def _unwrap(self, sealed: SealedToken) -> bytes:
        aad = data_key_aad(sealed.account_id, sealed.token_id, sealed.kek_version)
        try:
            data_key = self._keys.unwrap(sealed.kek_version, sealed.wrapped_data_key, aad)
        except KeyVersionUnknownError:
            raise _unreadable(
                sealed, f"key version {sealed.kek_version} is not in the keyring"
            ) from None
        except UnwrapFailedError:
            raise _unreadable(
                sealed, "the data key does not unwrap (wrong key, moved, recombined or changed)"
            ) from None
        if len(data_key) != DATA_KEY_BYTES:
            raise _unreadable(sealed, "the unwrapped data key is not 32 bytes")
        return data_key


def _unreadable(sealed: SealedToken, reason: str) -> TokenUnreadableError:
    return TokenUnreadableError(
        account_id=sealed.account_id,
        token_id=sealed.token_id,
        kek_version=sealed.kek_version,
        reason=reason,
    )

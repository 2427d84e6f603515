"""The associated data that binds each ciphertext to its place.

Fixed-length fields behind a purpose label, so that no two different (purpose, account,
token, version) tuples share an encoding and neither ciphertext can stand in for the other:

- the token ciphertext: ``b"tc-vault/token/v1\\0" + account_id (16 bytes) + token_id (16 bytes)``
- the wrapped data key: ``b"tc-vault/data-key/v1\\0" + account_id + token_id + kek_version``
  (4 bytes, big-endian, unsigned).

Changing these bytes makes every stored record unreadable: a new encoding needs a new label
(``.../v2``) and a migration that re-seals.
"""

from uuid import UUID

TOKEN_LABEL = b"tc-vault/token/v1\x00"
DATA_KEY_LABEL = b"tc-vault/data-key/v1\x00"
MAX_KEK_VERSION = 2**32 - 1


def token_aad(account_id: UUID, token_id: UUID) -> bytes:
    """Associated data of a token's ciphertext under its data key."""
    return TOKEN_LABEL + account_id.bytes + token_id.bytes


def data_key_aad(account_id: UUID, token_id: UUID, kek_version: int) -> bytes:
    """Associated data of a data key wrapped by the key-encryption key of ``kek_version``."""
    if not 1 <= kek_version <= MAX_KEK_VERSION:
        raise ValueError(f"key version {kek_version} is outside 1..{MAX_KEK_VERSION}")
    return DATA_KEY_LABEL + account_id.bytes + token_id.bytes + kek_version.to_bytes(4, "big")

"""The Tessie token vault: envelope encryption of tokens, bound to their account and id.

See ``libs/vault/README.md`` for the scheme, the binding and the rotation procedure.
"""

from tc_vault.errors import (
    KeyVersionUnknownError,
    SealedTokenMalformedError,
    TokenUnreadableError,
    UnwrapFailedError,
    VaultError,
)
from tc_vault.keys import KeyEncryptionKeys, LocalKeyring
from tc_vault.sealed import SealedToken
from tc_vault.settings import VaultSettings
from tc_vault.vault import Vault

__all__ = [
    "KeyEncryptionKeys",
    "KeyVersionUnknownError",
    "LocalKeyring",
    "SealedToken",
    "SealedTokenMalformedError",
    "TokenUnreadableError",
    "UnwrapFailedError",
    "Vault",
    "VaultError",
    "VaultSettings",
]

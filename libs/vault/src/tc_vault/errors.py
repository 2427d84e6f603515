"""The vault's errors. None of them carries key or token material: ids and versions only."""

from uuid import UUID


class VaultError(Exception):
    """Base of every error the vault raises on purpose."""


class KeyVersionUnknownError(VaultError):
    """The key-encryption key of this version is not in the keyring (never added, or removed)."""

    def __init__(self, version: int) -> None:
        super().__init__(f"key-encryption key version {version} is not in the keyring")
        self.version = version


class UnwrapFailedError(VaultError):
    """A wrapped data key did not authenticate under its key version and associated data.

    The key is the wrong one, the record was moved to another row or account, or its bytes
    were changed. Which of these cannot be told apart, by design of AES-GCM.
    """

    def __init__(self, version: int) -> None:
        super().__init__(f"the data key does not unwrap under key-encryption key version {version}")
        self.version = version


class TokenUnreadableError(VaultError):
    """A sealed token cannot be opened (or re-wrapped): says which one and why, never its bytes."""

    def __init__(self, *, account_id: UUID, token_id: UUID, kek_version: int, reason: str) -> None:
        super().__init__(
            f"token {token_id} of account {account_id} (key version {kek_version}) "
            f"cannot be opened: {reason}"
        )
        self.account_id = account_id
        self.token_id = token_id
        self.kek_version = kek_version
        self.reason = reason


class SealedTokenMalformedError(VaultError, ValueError):
    """A serialised sealed token is not one: wrong shape, format or encoding."""

"""Errors of the KMS keyring beyond the port's own: KMS did not answer, or refused to.

Neither says anything about the record (it may be perfectly good), so neither is turned into
``TokenUnreadableError`` by the vault: callers see them as they are. None carries key material,
plaintext or a ciphertext: the operation, the key version, and KMS's error code only.
"""

from tc_vault import VaultError


class KmsUnavailableError(VaultError):
    """KMS could not be reached or asked us to slow down: try again later (retryable)."""

    retryable = True

    def __init__(self, operation: str, version: int, cause: str) -> None:
        super().__init__(
            f"KMS {operation} with key version {version} is unavailable ({cause}); try again later"
        )
        self.operation = operation
        self.version = version
        self.cause = cause


class KmsRefusedError(VaultError):
    """KMS refused the call (access denied, key disabled, deleted or unknown): an operator has
    to fix the key or its policy; retrying does not help."""

    retryable = False

    def __init__(self, operation: str, version: int, code: str) -> None:
        super().__init__(
            f"KMS refused {operation} with key version {version} ({code}): check the key's "
            "state and that this service may use it"
        )
        self.operation = operation
        self.version = version
        self.code = code

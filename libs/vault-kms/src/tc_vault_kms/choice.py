"""The one place a service's settings become its key-encryption keys: local, KMS or none."""

from tc_vault import KeyEncryptionKeys, LocalKeyring, VaultSettings
from tc_vault_kms.keyring import AwsKmsKeyring
from tc_vault_kms.settings import KmsVaultSettings


def keyring_from(
    vault: VaultSettings | None, vault_kms: KmsVaultSettings | None
) -> KeyEncryptionKeys | None:
    """The keyring a service's ``vault`` / ``vault_kms`` settings describe; ``None`` if neither
    is set. Both at once is refused: which keys wrap new tokens must not be a guess."""
    check_one_keyring(vault, vault_kms)
    if vault_kms is not None:
        return AwsKmsKeyring.from_settings(vault_kms)
    if vault is not None:
        return LocalKeyring.from_settings(vault)
    return None


def check_one_keyring(vault: VaultSettings | None, vault_kms: KmsVaultSettings | None) -> None:
    """For a settings validator: refuse both keyrings at once, at start, before any call."""
    if vault is not None and vault_kms is not None:
        raise ValueError("set either vault (local keys) or vault_kms (AWS KMS), not both")

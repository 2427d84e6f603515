"""The token vault's key-encryption keys in AWS KMS: an adapter behind
``tc_vault.KeyEncryptionKeys``, its settings, and the choice between it and the local keyring.
See ``libs/vault-kms/README.md``."""

from tc_vault_kms.choice import check_one_keyring, keyring_from
from tc_vault_kms.errors import KmsRefusedError, KmsUnavailableError
from tc_vault_kms.keyring import CONTEXT_NAME, AwsKmsKeyring
from tc_vault_kms.settings import KmsVaultSettings

__all__ = [
    "CONTEXT_NAME",
    "AwsKmsKeyring",
    "KmsRefusedError",
    "KmsUnavailableError",
    "KmsVaultSettings",
    "check_one_keyring",
    "keyring_from",
]

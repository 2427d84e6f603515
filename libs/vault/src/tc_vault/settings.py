"""The local keyring's settings: versioned key-encryption keys, as secrets, and the current one.

A service composes :class:`VaultSettings` into its own settings, e.g. ``vault: VaultSettings``
under ``INGEST_`` reads ``INGEST_VAULT__KEYS='{"1": "<base64 of 32 random bytes>"}'`` and
``INGEST_VAULT__CURRENT_VERSION=1``. Generate a key with
``python -c "import base64, os; print(base64.b64encode(os.urandom(32)).decode())"``.

Refused at start, without echoing any key: a placeholder, a value that is not standard base64,
a key that is not exactly 32 bytes, a key with few distinct bytes (typed, not random), the
same key under two versions, and a current version that is not among the keys.
"""

import base64
import binascii

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

from tc_vault.aad import MAX_KEK_VERSION

KEY_BYTES = 32
# 32 random bytes have about 30 distinct values; fewer than 16 is a typed or repeated pattern
# (all zeros, "AAAA...", a short word repeated); a random key has fewer with a chance of 3e-17.
MIN_DISTINCT_KEY_BYTES = 16
# The placeholders tc_common.settings refuses (this library does not depend on tc_common).
PLACEHOLDER_SECRETS = frozenset({"", "changethis", "changeme", "secret", "password", "xxx"})


def check_key(version: int, key: bytes) -> None:
    """Raise unless ``key`` can be a KEK; the message names the version, never the key."""
    if len(key) != KEY_BYTES:
        raise ValueError(f"key version {version} is not {KEY_BYTES} bytes (AES-256)")
    if len(set(key)) < MIN_DISTINCT_KEY_BYTES:
        raise ValueError(
            f"key version {version} looks like a placeholder, not {KEY_BYTES} random bytes"
        )


def decode_key(version: int, value: SecretStr) -> bytes:
    """The key bytes of a base64 setting, checked by :func:`check_key`."""
    text = value.get_secret_value().strip()
    if text.lower() in PLACEHOLDER_SECRETS:
        raise ValueError(f"key version {version} is empty or a placeholder; set a real key")
    try:
        key = base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        raise ValueError(f"key version {version} is not standard base64") from None
    check_key(version, key)
    return key


class VaultSettings(BaseModel):
    """Key-encryption keys by version (base64 of 32 random bytes each) and the current one."""

    # A refused key must not be echoed in the start-up error.
    model_config = ConfigDict(hide_input_in_errors=True, frozen=True)

    keys: dict[int, SecretStr] = Field(
        description="Key-encryption keys by version, as a JSON object: version -> base64 of "
        "32 random bytes. Keep an old version only until every record has been re-wrapped."
    )
    current_version: int = Field(
        ge=1,
        le=MAX_KEK_VERSION,
        description="The version that wraps new data keys; one of keys.",
    )

    @model_validator(mode="after")
    def _keys_usable(self) -> "VaultSettings":
        if not self.keys:
            raise ValueError("vault.keys is empty; set at least the current key")
        seen: dict[bytes, int] = {}
        for version, value in sorted(self.keys.items()):
            if not 1 <= version <= MAX_KEK_VERSION:
                raise ValueError(f"key version {version} is outside 1..{MAX_KEK_VERSION}")
            key = decode_key(version, value)
            if key in seen:
                raise ValueError(f"key versions {seen[key]} and {version} hold the same key")
            seen[key] = version
        if self.current_version not in self.keys:
            raise ValueError(f"current_version {self.current_version} is not among vault.keys")
        return self

    def key_bytes(self) -> dict[int, bytes]:
        """The decoded keys by version (validated already)."""
        return {version: decode_key(version, value) for version, value in self.keys.items()}

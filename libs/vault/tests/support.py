"""What the vault's tests share: fresh random keys, ids, a pinned moment, a token."""

import base64
import os
from datetime import UTC, datetime

from pydantic import SecretStr

from tc_vault import LocalKeyring, Vault, VaultSettings

# Looks like a Tessie API token; every test that seals something seals this.
TOKEN = "tessie-live-3f9c2a7be1d04c58a6f1e0b2c9d87a41"
NOW = datetime(2026, 12, 5, 18, 30, tzinfo=UTC)


def random_key() -> str:
    return base64.b64encode(os.urandom(32)).decode()


def settings(keys: dict[int, str], current: int) -> VaultSettings:
    return VaultSettings(keys={v: SecretStr(k) for v, k in keys.items()}, current_version=current)


def vault_of(keys: dict[int, str], current: int) -> Vault:
    return Vault(LocalKeyring.from_settings(settings(keys, current)))

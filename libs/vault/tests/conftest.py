"""Fixtures of the vault's tests: a one-key vault and fresh ids."""

from uuid import UUID, uuid4

import pytest

from tc_vault import Vault

from .support import random_key, vault_of


@pytest.fixture
def key_v1() -> str:
    return random_key()


@pytest.fixture
def vault(key_v1: str) -> Vault:
    return vault_of({1: key_v1}, 1)


@pytest.fixture
def account_id() -> UUID:
    return uuid4()


@pytest.fixture
def token_id() -> UUID:
    return uuid4()

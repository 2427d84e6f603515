"""Fixtures of the VPN library's tests: one CA and its server certificate per module."""

import pytest

from tc_vpn import pki

from .support import NOW, SERVER_NAME


@pytest.fixture(scope="module")
def ca() -> pki.Issued:
    return pki.create_ca("teslaconnectivity VPN CA", NOW)


@pytest.fixture(scope="module")
def server(ca: pki.Issued) -> pki.Issued:
    return pki.issue_server_certificate(ca, SERVER_NAME, NOW)

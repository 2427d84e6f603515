"""Fixtures of the real-OpenVPN tests: the openvpn binary, installed with apt-get if missing
(the tests are never skipped: without openvpn they fail saying why)."""

import os
import shutil
import subprocess

import pytest


@pytest.fixture(scope="session")
def openvpn() -> str:
    """The path of the openvpn binary."""
    binary = shutil.which("openvpn")
    if binary:
        return binary
    done = subprocess.run(
        ["apt-get", "install", "-y", "openvpn"],
        env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    binary = shutil.which("openvpn")
    if done.returncode or binary is None:
        pytest.fail(f"openvpn is missing and apt-get could not install it:\n{done.stderr[-2000:]}")
    return binary

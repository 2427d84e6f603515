"""Settings come from ``PROVISIONER_*`` environment variables, with working defaults."""

import hashlib

import pytest
from pydantic import ValidationError

from tc_provisioner.settings import ProvisionerSettings


def test_defaults_serve_on_port_8105_with_a_cap_of_100_and_no_invitations() -> None:
    settings = ProvisionerSettings()
    assert (settings.http.port, settings.beta_cap, settings.invitation_sha256) == (8105, 100, ())


def test_environment_sets_cap_and_invitation_digests(monkeypatch: pytest.MonkeyPatch) -> None:
    digest = hashlib.sha256(b"WELCOME").hexdigest()
    monkeypatch.setenv("PROVISIONER_BETA_CAP", "25")
    monkeypatch.setenv("PROVISIONER_INVITATION_SHA256", f'["{digest.upper()}"]')
    settings = ProvisionerSettings()
    assert (settings.beta_cap, settings.invitation_sha256) == (25, (digest,))


def test_a_plaintext_code_in_place_of_a_digest_is_refused_without_echoing_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PROVISIONER_INVITATION_SHA256", '["WELCOME-SECRET"]')
    with pytest.raises(ValidationError) as error:
        ProvisionerSettings()
    assert "entry 0 is not a SHA-256 hex digest" in str(error.value)
    assert "WELCOME-SECRET" not in str(error.value)

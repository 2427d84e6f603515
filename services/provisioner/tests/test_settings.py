"""Settings come from ``PROVISIONER_*`` environment variables, with working defaults."""

import hashlib

import pytest
from pydantic import ValidationError

from tc_provisioner.settings import ProvisionerSettings

URL = "postgresql://provisioner:not-a-real-password@db.example:5432/tc"


@pytest.fixture(autouse=True)
def database_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PROVISIONER_POSTGRES__URL", URL)


def test_defaults_serve_on_port_8105_with_a_cap_of_100_and_no_invitations() -> None:
    settings = ProvisionerSettings()
    assert (settings.http.port, settings.beta_cap, settings.invitation_sha256) == (8105, 100, ())


def test_database_url_comes_from_the_environment_and_is_required(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert ProvisionerSettings().postgres.url.get_secret_value() == URL
    monkeypatch.delenv("PROVISIONER_POSTGRES__URL")
    with pytest.raises(ValidationError, match="postgres"):
        ProvisionerSettings()


def test_a_cap_the_database_cannot_store_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PROVISIONER_BETA_CAP", str(2**31))
    with pytest.raises(ValidationError, match="beta_cap"):
        ProvisionerSettings()


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

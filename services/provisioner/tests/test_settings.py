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


VAULT_KEY = "q0VdL1V1Yu0sW2c0e3xQn5rV8b1k9m2p4t6u8w0y2A4="


@pytest.fixture
def vpn_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """A complete VPN part: public host, keyring, mail server."""
    for name, value in {
        "PROVISIONER_VPN__PUBLIC_HOST": "vpn.example.com",
        "PROVISIONER_VAULT__KEYS": f'{{"1": "{VAULT_KEY}"}}',
        "PROVISIONER_VAULT__CURRENT_VERSION": "1",
        "PROVISIONER_SMTP__HOST": "smtp.example.com",
        "PROVISIONER_SMTP__FROM_ADDRESS": "access@example.com",
    }.items():
        monkeypatch.setenv(name, value)
    return monkeypatch


def test_the_vpn_part_reads_its_settings_with_sane_defaults(vpn_env: pytest.MonkeyPatch) -> None:
    vpn = ProvisionerSettings().vpn
    assert vpn is not None
    assert (vpn.public_host, vpn.public_port, vpn.api_address) == (
        "vpn.example.com",
        1194,
        "10.8.0.1",
    )
    assert (vpn.device_lifetime_days, vpn.renew_before_days) == (365, 30)


@pytest.mark.parametrize("missing", ["PROVISIONER_VAULT__KEYS", "PROVISIONER_SMTP__HOST"])
def test_the_vpn_part_without_a_keyring_or_a_mail_server_is_refused(
    vpn_env: pytest.MonkeyPatch, missing: str
) -> None:
    vpn_env.delenv(missing)
    if missing == "PROVISIONER_VAULT__KEYS":
        vpn_env.delenv("PROVISIONER_VAULT__CURRENT_VERSION")
    with pytest.raises(ValidationError, match=r"keyring|smtp"):
        ProvisionerSettings()


@pytest.mark.parametrize(
    "host", ["vpn.example.com\nscript-security 3", "vpn example.com", "vpn.example.com;"]
)
def test_a_public_host_that_would_add_a_line_to_a_profile_is_refused(
    vpn_env: pytest.MonkeyPatch, host: str
) -> None:
    vpn_env.setenv("PROVISIONER_VPN__PUBLIC_HOST", host)
    with pytest.raises(ValidationError, match="public_host"):
        ProvisionerSettings()


def test_renewal_must_start_before_a_certificate_expires(vpn_env: pytest.MonkeyPatch) -> None:
    vpn_env.setenv("PROVISIONER_VPN__DEVICE_LIFETIME_DAYS", "30")
    vpn_env.setenv("PROVISIONER_VPN__RENEW_BEFORE_DAYS", "30")
    with pytest.raises(ValidationError, match="renew_before_days"):
        ProvisionerSettings()


def test_production_requires_the_vpn_part(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PROVISIONER_ENVIRONMENT", "production")
    monkeypatch.setenv("PROVISIONER_KAFKA__SECURITY_PROTOCOL", "SSL")
    monkeypatch.setenv("PROVISIONER_KAFKA__REPLICATION_FACTOR", "3")
    monkeypatch.setenv("PROVISIONER_KAFKA__MIN_INSYNC_REPLICAS", "2")
    with pytest.raises(ValidationError, match="production needs vpn"):
        ProvisionerSettings()

"""The mail server's settings, nested as ``smtp`` in the provisioner's (``PROVISIONER_SMTP__*``)."""

import pytest
from pydantic import ValidationError

from tc_provisioner.adapters.smtp import SmtpSettings
from tc_provisioner.settings import ProvisionerSettings

from .support import UNUSED_DATABASE_URL

FROM = "vpn@teslaconnectivity.example"


class WithSmtp(ProvisionerSettings):
    # How the service's settings are to carry it; the field itself is wired in elsewhere.
    smtp: SmtpSettings


def test_environment_variables_reach_the_nested_smtp_settings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    env = {
        "PROVISIONER_POSTGRES__URL": UNUSED_DATABASE_URL,
        "PROVISIONER_SMTP__HOST": "smtp.example.net",
        "PROVISIONER_SMTP__SECURITY": "tls",
        "PROVISIONER_SMTP__USERNAME": "mailer",
        "PROVISIONER_SMTP__PASSWORD": "s3cret-from-the-vault",
        "PROVISIONER_SMTP__FROM_ADDRESS": FROM,
        "PROVISIONER_SMTP__CA_FILE": "/etc/mail/ca.pem",
        "PROVISIONER_SMTP__TIMEOUT_S": "12.5",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    smtp = WithSmtp().smtp  # type: ignore[call-arg]
    assert (smtp.host, smtp.security, smtp.effective_port) == ("smtp.example.net", "tls", 465)
    assert smtp.username == "mailer"
    assert smtp.password is not None
    assert smtp.password.get_secret_value() == "s3cret-from-the-vault"
    assert (str(smtp.ca_file), smtp.timeout_s, smtp.from_address) == (
        "/etc/mail/ca.pem",
        12.5,
        FROM,
    )


@pytest.mark.parametrize(
    ("security", "port"), [("starttls", 587), ("tls", 465), ("none", 25)], ids=str
)
def test_the_port_defaults_to_the_one_of_the_security(security: str, port: int) -> None:
    settings = SmtpSettings.model_validate(
        {"host": "localhost", "security": security, "from_address": FROM}
    )
    assert settings.effective_port == port


def test_defaults_are_starttls_with_certificate_checks_and_bounded_waits() -> None:
    settings = SmtpSettings(host="smtp.example.net", from_address=FROM)
    assert (settings.security, settings.validate_certs, settings.ca_file) == (
        "starttls",
        True,
        None,
    )
    assert (settings.timeout_s, settings.send_timeout_s) == (30.0, 120.0)


@pytest.mark.parametrize("address", ["vpn", "vpn@", "@example.org", "a b@example.org", "vpn@host"])
def test_a_from_address_that_is_not_an_address_is_refused(address: str) -> None:
    with pytest.raises(ValidationError, match="from_address"):
        SmtpSettings(host="smtp.example.net", from_address=address)


def test_a_from_name_with_a_line_break_is_refused() -> None:
    with pytest.raises(ValidationError, match="from_name"):
        SmtpSettings(host="smtp.example.net", from_address=FROM, from_name="VPN\r\nBcc: x")


def test_a_username_without_a_password_is_refused() -> None:
    with pytest.raises(ValidationError, match="username and password go together"):
        SmtpSettings(host="smtp.example.net", from_address=FROM, username="mailer")


def test_a_placeholder_password_is_refused_without_echoing_it() -> None:
    with pytest.raises(ValidationError) as refused:
        SmtpSettings.model_validate(
            {
                "host": "smtp.example.net",
                "from_address": FROM,
                "username": "u",
                "password": "changeme",
            }
        )
    assert "placeholder" in str(refused.value)
    assert "changeme" not in str(refused.value)


def test_a_password_in_clear_over_the_network_is_refused_but_allowed_to_a_local_relay() -> None:
    login = {"from_address": FROM, "security": "none", "username": "u", "password": "pw-123456"}
    with pytest.raises(ValidationError, match="in clear") as refused:
        SmtpSettings.model_validate({"host": "smtp.example.net", **login})
    assert "pw-123456" not in str(refused.value)
    for local in ("localhost", "127.0.0.1", "::1", "relay.localhost"):
        SmtpSettings.model_validate({"host": local, **login})


@pytest.mark.parametrize("option", [{"validate_certs": False}, {"ca_file": "/etc/mail/ca.pem"}])
def test_certificate_options_without_tls_are_refused(option: dict[str, object]) -> None:
    with pytest.raises(ValidationError, match="need security starttls or tls"):
        SmtpSettings.model_validate(
            {"host": "localhost", "security": "none", "from_address": FROM, **option}
        )


class TestCheckProduction:
    def test_tls_with_certificate_checks_passes(self) -> None:
        for security in ("starttls", "tls"):
            SmtpSettings.model_validate(
                {"host": "smtp.example.net", "security": security, "from_address": FROM}
            ).check_production()

    def test_no_encryption_to_a_remote_server_is_refused(self) -> None:
        settings = SmtpSettings(host="smtp.example.net", security="none", from_address=FROM)
        with pytest.raises(ValueError, match="starttls or tls"):
            settings.check_production()

    def test_no_encryption_to_a_relay_on_this_machine_passes(self) -> None:
        SmtpSettings(host="127.0.0.1", security="none", from_address=FROM).check_production()

    def test_skipping_certificate_checks_is_refused(self) -> None:
        settings = SmtpSettings(host="smtp.example.net", from_address=FROM, validate_certs=False)
        with pytest.raises(ValueError, match="validate_certs"):
            settings.check_production()

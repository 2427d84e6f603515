"""The SMTP mailer against a real SMTP server (aiosmtpd, tc_testkit.smtp) on 127.0.0.1.

Each test starts its own server in a thread (a few milliseconds): no process, no network
beyond loopback, so these run with the unit tests.
"""

import base64
import logging
import time
import traceback
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest

from tc_common.logging import redact
from tc_provisioner.adapters.smtp import (
    DeliveryError,
    MailerConfigurationError,
    PermanentDeliveryError,
    SmtpMailer,
    SmtpSettings,
    TransientDeliveryError,
)
from tc_provisioner.profile_mail import profile_message
from tc_testkit.smtp import SmtpServer, closed_port, smtp_server, unresponsive_port
from tc_testkit.tls import Authority

from .mail_support import block_lines, ovpn_profile
from .support import NOW

pytestmark = [
    pytest.mark.timeout(30),
    # aiosmtpd's own notices about the test server's deliberately loose setups.
    pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning"),
    pytest.mark.filterwarnings("ignore:Session.login_data is deprecated:DeprecationWarning"),
]

USER = "mailer@teslaconnectivity.example"
PASSWORD = "correct-horse-battery-staple-41"
FROM = "vpn@teslaconnectivity.example"
SECURITY = {"plain": "none", "starttls": "starttls", "tls": "tls"}


def profile_mail(profile: bytes, to: str = "ada@example.org") -> EmailMessage:
    return profile_message(
        to=to,
        from_address=FROM,
        from_name="TeslaConnectivity VPN",
        device_name="pixel-8",
        profile=profile,
        filename="pixel-8.ovpn",
        api_base_url="https://api.teslaconnectivity.example",
        now=NOW,
        message_id_domain="teslaconnectivity.example",
    )


def settings_for(server: SmtpServer, **overrides: object) -> SmtpSettings:
    values: dict[str, object] = {
        # The certificate names localhost and 127.0.0.1; the name checks the hostname match.
        "host": "localhost" if server.mode != "plain" else server.host,
        "port": server.port,
        "security": SECURITY[server.mode],
        "from_address": FROM,
        "ca_file": server.ca_file,
        "helo_hostname": "provisioner.test",
        "timeout_s": 5.0,
        "send_timeout_s": 10.0,
    }
    return SmtpSettings.model_validate(values | overrides)


def with_login(password: str = PASSWORD) -> dict[str, object]:
    return {"username": USER, "password": password}


@pytest.fixture
def profile() -> bytes:
    return ovpn_profile()


@pytest.fixture
def starttls_server(tmp_path: Path) -> Iterator[SmtpServer]:
    with smtp_server(tmp_path, mode="starttls", auth=(USER, PASSWORD)) as server:
        yield server


class TestDelivery:
    async def test_over_starttls_with_login_the_profile_arrives_byte_for_byte(
        self, starttls_server: SmtpServer, profile: bytes
    ) -> None:
        await SmtpMailer(settings_for(starttls_server, **with_login())).send(profile_mail(profile))

        [got] = starttls_server.received()
        assert (got.over_tls, got.authenticated_as) == (True, USER)
        assert (got.mail_from, got.rcpt_tos) == (FROM, ("ada@example.org",))
        [attachment] = list(got.message.iter_attachments())
        assert attachment.get_content_type() == "application/x-openvpn-profile"
        assert attachment.get_filename() == "pixel-8.ovpn"
        assert attachment.get_content() == profile

    async def test_no_line_of_the_private_key_is_in_the_received_bodies(
        self, starttls_server: SmtpServer, profile: bytes
    ) -> None:
        await SmtpMailer(settings_for(starttls_server, **with_login())).send(profile_mail(profile))

        [got] = starttls_server.received()
        texts = [
            part.get_content()
            for part in got.message.walk()
            if part.get_content_maintype() == "text" and not part.is_attachment()
        ]
        assert len(texts) == 2
        for line in block_lines(profile, "key"):
            assert all(line not in text for text in texts), line
        assert b"PRIVATE KEY" not in got.raw  # in clear nowhere, base64 in the attachment

    async def test_over_implicit_tls_with_login(self, tmp_path: Path, profile: bytes) -> None:
        with smtp_server(tmp_path, mode="tls", auth=(USER, PASSWORD)) as server:
            await SmtpMailer(settings_for(server, **with_login())).send(profile_mail(profile))
            [got] = server.received()
        assert (got.over_tls, got.authenticated_as) == (True, USER)
        assert next(got.message.iter_attachments()).get_content() == profile

    async def test_in_clear_without_login_to_a_local_relay(
        self, tmp_path: Path, profile: bytes
    ) -> None:
        with smtp_server(tmp_path, mode="plain") as server:
            await SmtpMailer(settings_for(server)).send(profile_mail(profile))
            [got] = server.received()
        assert (got.over_tls, got.authenticated_as) == (False, None)
        assert next(got.message.iter_attachments()).get_content() == profile

    async def test_a_server_offering_no_starttls_is_refused_rather_than_written_to_in_clear(
        self, tmp_path: Path, profile: bytes
    ) -> None:
        with smtp_server(tmp_path, mode="plain") as server:
            settings = settings_for(server, security="starttls")
            with pytest.raises(MailerConfigurationError, match="no STARTTLS"):
                await SmtpMailer(settings).send(profile_mail(profile))
            assert server.received() == ()

    async def test_the_envelope_sender_is_the_configured_address_whatever_from_says(
        self, starttls_server: SmtpServer, profile: bytes
    ) -> None:
        message = profile_mail(profile)
        message.replace_header("From", "someone-else@example.org")
        await SmtpMailer(settings_for(starttls_server, **with_login())).send(message)
        [got] = starttls_server.received()
        assert got.mail_from == FROM

    async def test_a_message_for_more_than_one_recipient_is_not_sent(
        self, starttls_server: SmtpServer, profile: bytes
    ) -> None:
        message = profile_mail(profile)
        message["Cc"] = "eve@example.org"
        with pytest.raises(ValueError, match="exactly one recipient"):
            await SmtpMailer(settings_for(starttls_server, **with_login())).send(message)
        assert starttls_server.received() == ()


class TestRefusedLogin:
    WRONG = "wrong-password-never-to-be-shown-77"

    async def test_a_wrong_password_is_a_permanent_configuration_error_with_code_535(
        self, starttls_server: SmtpServer, profile: bytes
    ) -> None:
        mailer = SmtpMailer(settings_for(starttls_server, **with_login(self.WRONG)))
        with pytest.raises(MailerConfigurationError) as refused:
            await mailer.send(profile_mail(profile))
        assert isinstance(refused.value, PermanentDeliveryError)
        assert refused.value.smtp_code == 535
        assert USER in refused.value.reason
        assert starttls_server.received() == ()
        # aiosmtplib tries each method the server offers before giving up.
        assert starttls_server.logins() == (("PLAIN", False), ("LOGIN", False))

    async def test_the_password_is_in_no_exception_text_and_no_log_record(
        self, starttls_server: SmtpServer, profile: bytes, caplog: pytest.LogCaptureFixture
    ) -> None:
        caplog.set_level(logging.DEBUG)
        with pytest.raises(DeliveryError) as refused:
            await SmtpMailer(settings_for(starttls_server, **with_login(self.WRONG))).send(
                profile_mail(profile)
            )
        logging.getLogger("tc_provisioner").exception("delivery failed", exc_info=refused.value)

        error = refused.value
        texts = [
            str(error),
            repr(error),
            error.reason,
            *map(str, error.args),
            "".join(traceback.format_exception(error)),
        ]
        assert error.__cause__ is None
        assert error.__suppress_context__
        records = [r.getMessage() for r in caplog.records] + [
            r.exc_text or "" for r in caplog.records
        ]
        assert any("delivery failed" in r for r in records)  # the capture does see our logs
        # The password as AUTH LOGIN sends it (base64) is no better than in clear.
        encoded = base64.b64encode(self.WRONG.encode()).decode()
        for text in texts + records:
            assert self.WRONG not in text
            assert encoded not in text
            assert "PRIVATE KEY" not in text
            assert "This profile is personal" not in text  # the body

    def test_the_password_is_registered_for_redaction_in_every_log_line(self) -> None:
        password = "registered-only-by-the-mailer-93"
        assert redact(f"x {password} y") == f"x {password} y"
        SmtpMailer(SmtpSettings(host="smtp.example.net", from_address=FROM, **with_login(password)))
        assert redact(f"x {password} y") == "x *** y"


class TestRefusals:
    @pytest.mark.parametrize(
        ("code", "at", "kind"),
        [
            (451, "data", TransientDeliveryError),
            (451, "rcpt", TransientDeliveryError),
            (421, "data", TransientDeliveryError),
            (550, "rcpt", PermanentDeliveryError),
            (552, "data", PermanentDeliveryError),
        ],
        ids=["451-data", "451-rcpt", "421-data", "550-rcpt", "552-data"],
    )
    async def test_a_refusal_is_transient_for_4xx_and_permanent_for_5xx(
        self,
        starttls_server: SmtpServer,
        profile: bytes,
        code: int,
        at: str,
        kind: type[DeliveryError],
    ) -> None:
        starttls_server.refuse_next(1, code=code, at=at)  # type: ignore[arg-type]
        with pytest.raises(kind) as refused:
            await SmtpMailer(settings_for(starttls_server, **with_login())).send(
                profile_mail(profile)
            )
        assert refused.value.smtp_code == code
        assert str(code) in refused.value.reason
        # A refused recipient or message is the message's fault, not the mailer's.
        assert not isinstance(refused.value, MailerConfigurationError)
        assert starttls_server.received() == ()

    async def test_after_a_transient_refusal_the_next_attempt_delivers(
        self, starttls_server: SmtpServer, profile: bytes
    ) -> None:
        mailer = SmtpMailer(settings_for(starttls_server, **with_login()))
        starttls_server.refuse_next(1, code=451)
        with pytest.raises(TransientDeliveryError):
            await mailer.send(profile_mail(profile))
        await mailer.send(profile_mail(profile))
        assert len(starttls_server.received()) == 1


class TestUnreachable:
    async def test_a_stopped_server_is_a_transient_failure(
        self, starttls_server: SmtpServer, profile: bytes
    ) -> None:
        settings = settings_for(starttls_server, **with_login())
        starttls_server.stop()
        with pytest.raises(TransientDeliveryError) as failed:
            await SmtpMailer(settings).send(profile_mail(profile))
        assert failed.value.smtp_code is None

    async def test_a_closed_port_is_a_transient_failure_reported_at_once(
        self, profile: bytes
    ) -> None:
        settings = SmtpSettings(
            host="127.0.0.1", port=closed_port(), security="none", from_address=FROM
        )
        started = time.monotonic()
        with pytest.raises(TransientDeliveryError, match=r"127\.0\.0\.1"):
            await SmtpMailer(settings).send(profile_mail(profile))
        assert time.monotonic() - started < 2


class TestCertificates:
    @pytest.mark.parametrize("mode", ["starttls", "tls"])
    async def test_a_certificate_from_an_untrusted_ca_is_a_configuration_error(
        self, tmp_path: Path, profile: bytes, mode: str
    ) -> None:
        with smtp_server(tmp_path, mode=mode, auth=(USER, PASSWORD)) as server:  # type: ignore[arg-type]
            # No ca_file: the system's trust store, which does not know the test CA.
            settings = settings_for(server, ca_file=None, **with_login())
            with pytest.raises(MailerConfigurationError, match="certificate") as refused:
                await SmtpMailer(settings).send(profile_mail(profile))
            assert server.received() == ()
            assert server.logins() == ()  # the password was never sent
        assert refused.value.smtp_code is None
        assert PASSWORD not in str(refused.value)

    @pytest.mark.parametrize("mode", ["starttls", "tls"])
    async def test_a_trusted_certificate_for_another_host_is_a_configuration_error(
        self, tmp_path: Path, profile: bytes, mode: str
    ) -> None:
        authority = Authority.create(tmp_path, name="mail-ca")
        elsewhere = authority.issue("mail-elsewhere", dns=("mail.elsewhere.example",))
        with smtp_server(tmp_path, mode=mode, certificate=elsewhere) as server:  # type: ignore[arg-type]
            settings = settings_for(server, ca_file=authority.ca_file)
            with pytest.raises(MailerConfigurationError, match="not for localhost"):
                await SmtpMailer(settings).send(profile_mail(profile))
            assert server.received() == ()

    async def test_without_certificate_checks_an_untrusted_server_is_written_to(
        self, tmp_path: Path, profile: bytes
    ) -> None:
        with smtp_server(tmp_path, mode="starttls") as server:
            settings = settings_for(server, ca_file=None, validate_certs=False)
            await SmtpMailer(settings).send(profile_mail(profile))
            assert len(server.received()) == 1

    async def test_implicit_tls_against_a_server_greeting_in_plain_text_is_a_configuration_error(
        self, tmp_path: Path, profile: bytes
    ) -> None:
        with smtp_server(tmp_path, mode="plain") as server:
            settings = settings_for(server, security="tls")
            with pytest.raises(MailerConfigurationError, match="does not speak TLS"):
                await SmtpMailer(settings).send(profile_mail(profile))
            assert server.received() == ()


class TestTimeouts:
    @pytest.mark.parametrize("security", ["none", "starttls", "tls"])
    async def test_a_server_that_never_answers_fails_transiently_within_the_step_timeout(
        self, profile: bytes, security: str
    ) -> None:
        with unresponsive_port() as port:
            settings = SmtpSettings.model_validate(
                {
                    "host": "127.0.0.1",
                    "port": port,
                    "security": security,
                    "from_address": FROM,
                    "timeout_s": 0.5,
                }
            )
            started = time.monotonic()
            with pytest.raises(TransientDeliveryError):
                await SmtpMailer(settings).send(profile_mail(profile))
            elapsed = time.monotonic() - started
        assert 0.4 < elapsed < 4

    async def test_a_reply_slower_than_the_step_timeout_fails_transiently(
        self, starttls_server: SmtpServer, profile: bytes
    ) -> None:
        starttls_server.stall_next(1, seconds=3, at="rcpt")
        settings = settings_for(starttls_server, timeout_s=0.5, **with_login())
        started = time.monotonic()
        with pytest.raises(TransientDeliveryError):
            await SmtpMailer(settings).send(profile_mail(profile))
        assert time.monotonic() - started < 4

    async def test_the_whole_delivery_is_bounded_even_when_each_step_is_in_time(
        self, starttls_server: SmtpServer, profile: bytes
    ) -> None:
        starttls_server.stall_next(1, seconds=3, at="data")
        settings = settings_for(starttls_server, timeout_s=5, send_timeout_s=0.5, **with_login())
        started = time.monotonic()
        with pytest.raises(TransientDeliveryError, match=r"longer than 0\.5 s"):
            await SmtpMailer(settings).send(profile_mail(profile))
        assert time.monotonic() - started < 4

"""The test SMTP server, driven by the standard library's own SMTP client."""

import smtplib
import ssl
import threading
from email.message import EmailMessage
from pathlib import Path

import pytest

from tc_testkit.smtp import closed_port, smtp_server, unresponsive_port

pytestmark = [
    pytest.mark.timeout(30),
    pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning"),
    pytest.mark.filterwarnings("ignore:Session.login_data is deprecated:DeprecationWarning"),
]


def note(subject: str = "hello", to: str = "ada@example.org") -> EmailMessage:
    message = EmailMessage()
    message["From"] = "sender@example.org"
    message["To"] = to
    message["Subject"] = subject
    message.set_content("just a note\n")
    return message


def test_a_plain_server_keeps_the_envelope_and_the_parsed_message(tmp_path: Path) -> None:
    with smtp_server(tmp_path) as server, smtplib.SMTP(server.host, server.port) as client:
        client.send_message(note("first"))
        [got] = server.received()
    assert (got.mail_from, got.rcpt_tos) == ("sender@example.org", ("ada@example.org",))
    assert (got.message["Subject"], got.message.get_content()) == ("first", "just a note\n")
    assert (got.over_tls, got.authenticated_as) == (False, None)
    assert b"Subject: first" in got.raw


def test_starttls_is_required_before_mail_and_its_certificate_is_trusted_via_ca_file(
    tmp_path: Path,
) -> None:
    with smtp_server(tmp_path, mode="starttls") as server:
        assert server.ca_file is not None
        with smtplib.SMTP(server.host, server.port) as client:
            with pytest.raises(smtplib.SMTPSenderRefused) as refused:
                client.send_message(note())
            assert refused.value.smtp_code == 530
        with smtplib.SMTP("localhost", server.port) as client:
            client.starttls(context=ssl.create_default_context(cafile=server.ca_file))
            client.send_message(note())
        [got] = server.received()
    assert got.over_tls


def test_implicit_tls_speaks_tls_from_the_first_byte(tmp_path: Path) -> None:
    with smtp_server(tmp_path, mode="tls") as server:
        assert server.ca_file is not None
        context = ssl.create_default_context(cafile=server.ca_file)
        with smtplib.SMTP_SSL("localhost", server.port, context=context) as client:
            client.send_message(note())
        [got] = server.received()
    assert got.over_tls


def test_auth_accepts_the_configured_login_and_refuses_others_with_535(tmp_path: Path) -> None:
    with smtp_server(tmp_path, mode="plain", auth=("mailer", "pw-123456")) as server:
        with smtplib.SMTP(server.host, server.port) as client:
            with pytest.raises(smtplib.SMTPAuthenticationError) as refused:
                client.login("mailer", "not-the-password")
            assert refused.value.smtp_code == 535
            with pytest.raises(smtplib.SMTPSenderRefused):  # no login, no mail
                client.send_message(note())
        with smtplib.SMTP(server.host, server.port) as client:
            client.login("mailer", "pw-123456")
            client.send_message(note())
        [got] = server.received()
        assert got.authenticated_as == "mailer"
        assert [ok for _, ok in server.logins()][-1] is True
        assert False in [ok for _, ok in server.logins()]


def test_refuse_next_refuses_exactly_that_many_messages_then_accepts(tmp_path: Path) -> None:
    with smtp_server(tmp_path) as server, smtplib.SMTP(server.host, server.port) as client:
        server.refuse_next(2, code=451)
        for _ in range(2):
            with pytest.raises(smtplib.SMTPDataError) as refused:
                client.send_message(note())
            assert refused.value.smtp_code == 451
        client.send_message(note("third"))
        server.refuse_next(1, code=550, at="rcpt")
        with pytest.raises(smtplib.SMTPRecipientsRefused) as no_mailbox:
            client.send_message(note())
        assert no_mailbox.value.recipients["ada@example.org"][0] == 550
        assert [r.message["Subject"] for r in server.received()] == ["third"]


def test_stall_next_delays_the_reply(tmp_path: Path) -> None:
    with smtp_server(tmp_path) as server:
        server.stall_next(1, seconds=2)
        with (
            smtplib.SMTP(server.host, server.port, timeout=0.5) as client,
            pytest.raises(smtplib.SMTPServerDisconnected, match="timed out"),
        ):
            client.send_message(note())


def test_a_stopped_server_refuses_connections(tmp_path: Path) -> None:
    with smtp_server(tmp_path) as server:
        server.stop()
        with pytest.raises(ConnectionRefusedError):
            smtplib.SMTP(server.host, server.port, timeout=2)


def test_messages_from_concurrent_clients_are_all_kept(tmp_path: Path) -> None:
    def send(n: int) -> None:
        with smtplib.SMTP(server.host, server.port) as client:
            for i in range(5):
                client.send_message(note(f"{n}-{i}"))

    with smtp_server(tmp_path) as server:
        threads = [threading.Thread(target=send, args=(n,)) for n in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        subjects = sorted(r.message["Subject"] for r in server.received())
    assert subjects == sorted(f"{n}-{i}" for n in range(4) for i in range(5))


def test_unresponsive_port_accepts_and_never_greets() -> None:
    # smtplib reports a read that timed out as a disconnection.
    with (
        unresponsive_port() as port,
        pytest.raises(smtplib.SMTPServerDisconnected, match="timed out"),
    ):
        smtplib.SMTP("127.0.0.1", port, timeout=0.3)


def test_closed_port_refuses_connections() -> None:
    with pytest.raises(ConnectionRefusedError):
        smtplib.SMTP("127.0.0.1", closed_port(), timeout=2)

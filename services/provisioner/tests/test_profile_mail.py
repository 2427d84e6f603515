"""The profile mail: the .ovpn travels as the attachment only, the body tells how to use it."""

from datetime import datetime, timedelta, timezone
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import parsedate_to_datetime

import pytest

from tc_provisioner.profile_mail import profile_message

from .mail_support import block_lines, ovpn_profile
from .support import NOW

PROFILE = ovpn_profile()


def build(**overrides: object) -> EmailMessage:
    arguments: dict[str, object] = {
        "to": "ada@example.org",
        "from_address": "vpn@teslaconnectivity.example",
        "from_name": "TeslaConnectivity VPN",
        "device_name": "pixel-8",
        "profile": PROFILE,
        "filename": "pixel-8.ovpn",
        "api_base_url": "https://api.teslaconnectivity.example",
        "now": NOW,
        "message_id_domain": "teslaconnectivity.example",
    }
    return profile_message(**(arguments | overrides))  # type: ignore[arg-type]


def bodies(message: EmailMessage) -> dict[str, str]:
    found: dict[str, str] = {}
    for part in message.walk():
        if part.get_content_maintype() == "text" and not part.is_attachment():
            found[part.get_content_subtype()] = part.get_content()
    return found


def reparsed(message: EmailMessage) -> EmailMessage:
    # What the recipient's mail program sees: the message as bytes, parsed back.
    parsed = message_from_bytes(message.as_bytes(), policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def test_the_profile_is_attached_byte_for_byte_as_an_openvpn_profile_with_its_file_name() -> None:
    [attachment] = list(reparsed(build()).iter_attachments())
    assert attachment.get_content_type() == "application/x-openvpn-profile"
    assert attachment.get_filename() == "pixel-8.ovpn"
    assert attachment.get_content() == PROFILE


def test_it_goes_to_the_customer_from_the_named_sender_about_the_device() -> None:
    message = reparsed(build())
    assert message["To"] == "ada@example.org"
    assert message["From"] == "TeslaConnectivity VPN <vpn@teslaconnectivity.example>"
    assert "pixel-8" in message["Subject"]


def test_date_is_the_given_instant_and_the_message_id_is_in_the_given_domain() -> None:
    later = NOW.astimezone(timezone(timedelta(hours=1)))
    message = reparsed(build(now=later))
    assert parsedate_to_datetime(message["Date"]) == NOW
    assert message["Message-ID"].endswith("@teslaconnectivity.example>")
    assert "20261125090000" in message["Message-ID"]


def test_two_mails_at_the_same_instant_have_different_message_ids() -> None:
    assert build()["Message-ID"] != build()["Message-ID"]


def test_the_body_explains_importing_and_says_a_lost_device_must_be_reported() -> None:
    for subtype, text in bodies(build()).items():
        flat = " ".join(text.split())
        assert "pixel-8" in flat, subtype
        assert "OpenVPN Connect" in flat, subtype
        assert "openvpn --config pixel-8.ovpn" in flat, subtype
        assert "personal" in flat, subtype
        assert "lost or stolen" in flat, subtype
        assert "revoke" in flat, subtype
        assert "https://api.teslaconnectivity.example" in flat, subtype


def test_there_is_a_plain_text_body_and_an_html_one() -> None:
    assert set(bodies(reparsed(build()))) == {"plain", "html"}


@pytest.mark.parametrize("block", ["key", "tls-crypt", "cert", "ca"])
def test_no_line_of_the_profiles_keys_or_certificates_is_in_a_body(block: str) -> None:
    secret_lines = block_lines(PROFILE, block)
    assert secret_lines
    # The raw message too: a body part is never a copy of the profile in another encoding.
    for subtype, text in bodies(reparsed(build())).items():
        for line in secret_lines:
            assert line not in text, (subtype, line)


def test_the_profile_appears_in_the_raw_mail_only_inside_the_attachment() -> None:
    message = build()
    [attachment] = list(message.iter_attachments())
    raw = message.as_bytes()
    assert b"PRIVATE KEY" not in raw  # base64-encoded in the attachment, nowhere in clear
    assert raw.count(attachment.get_payload().encode()[:76]) == 1


def test_a_naive_instant_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        build(now=datetime(2026, 11, 25, 9, 0))  # noqa: DTZ001 (the mistake under test)


@pytest.mark.parametrize("filename", ["pixel-8.conf", "../pixel-8.ovpn", "a\\pixel-8.ovpn"])
def test_a_file_name_that_is_not_a_bare_ovpn_name_is_refused(filename: str) -> None:
    with pytest.raises(ValueError, match="filename"):
        build(filename=filename)

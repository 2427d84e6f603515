"""The mail that brings a device its OpenVPN profile (pure: builds the message, sends nothing).

The profile travels only as the attachment: the body tells how to import it and never repeats
a key, a certificate or the invitation code, so a body quoted in a reply or shown in a
notification preview gives nothing away.
"""

from datetime import UTC, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from html import escape

PROFILE_CONTENT_TYPE = ("application", "x-openvpn-profile")


def profile_message(
    *,
    to: str,
    from_address: str,
    from_name: str,
    device_name: str,
    profile: bytes,
    filename: str,
    api_base_url: str,
    now: datetime,
    message_id_domain: str,
) -> EmailMessage:
    """The mail to ``to`` with ``profile`` attached as ``filename``; dated ``now`` (aware)."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    if not filename.endswith(".ovpn") or "/" in filename or "\\" in filename:
        raise ValueError("filename must be a bare name ending in .ovpn")
    message = EmailMessage()
    message["From"] = Address(display_name=from_name, addr_spec=from_address)
    message["To"] = to
    message["Subject"] = f"Your VPN profile for {device_name}"
    message["Date"] = format_datetime(now.astimezone(UTC))
    message["Message-ID"] = _message_id(now, message_id_domain)
    message.set_content(_text(device_name, filename, api_base_url))
    message.add_alternative(_html(device_name, filename, api_base_url), subtype="html")
    maintype, subtype = PROFILE_CONTENT_TYPE
    message.add_attachment(profile, maintype=maintype, subtype=subtype, filename=filename)
    return message


def _message_id(now: datetime, domain: str) -> str:
    # make_msgid adds a random part to the instant: two mails in one second stay distinct.
    stamp = now.astimezone(UTC).strftime("%Y%m%d%H%M%S")
    return make_msgid(idstring=f"profile.{stamp}", domain=domain)


def _text(device: str, filename: str, api_base_url: str) -> str:
    return f"""Hello,

your device "{device}" was accepted. Attached is its VPN profile, {filename}.

To connect:

- OpenVPN Connect (Android, iOS, Windows, macOS): open the attachment with OpenVPN Connect,
  or in the app choose "Import Profile" > "Upload File" and pick {filename}. Then connect.
- The openvpn command line (Linux and others): save the file and run
      sudo openvpn --config {filename}

This profile is personal: it holds this device's own key and works for this device only.
Do not forward it or share it; import it on "{device}" and then delete this mail.

If the device is lost or stolen, or the profile reached anyone else, report it right away
at {api_base_url} so that we revoke the profile.

TeslaConnectivity
"""


def _html(device: str, filename: str, api_base_url: str) -> str:
    # Device names are [A-Za-z0-9._-] (tc_common.events), file names ours: nothing to escape,
    # but escape anyway so a looser caller cannot inject markup.
    d, f, url = (escape(device), escape(filename), escape(api_base_url))
    return f"""<!DOCTYPE html>
<html><body>
<p>Hello,</p>
<p>your device &ldquo;{d}&rdquo; was accepted. Attached is its VPN profile, <code>{f}</code>.</p>
<p>To connect:</p>
<ul>
<li><b>OpenVPN Connect</b> (Android, iOS, Windows, macOS): open the attachment with OpenVPN
Connect, or in the app choose &ldquo;Import Profile&rdquo; &gt; &ldquo;Upload File&rdquo; and
pick <code>{f}</code>. Then connect.</li>
<li><b>The openvpn command line</b> (Linux and others): save the file and run
<code>sudo openvpn --config {f}</code></li>
</ul>
<p>This profile is personal: it holds this device's own key and works for this device only.
Do not forward it or share it; import it on &ldquo;{d}&rdquo; and then delete this mail.</p>
<p>If the device is lost or stolen, or the profile reached anyone else, report it right away
at <a href="{url}">{url}</a> so that we revoke the profile.</p>
<p>TeslaConnectivity</p>
</body></html>
"""

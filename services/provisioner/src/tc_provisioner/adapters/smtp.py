"""Sending mail over SMTP (aiosmtplib): STARTTLS, implicit TLS, or none to a local relay.

A profile mail carries a private key, so the mailer never downgrades: with ``starttls`` a
server that does not offer STARTTLS is refused rather than written to in clear.

Every failure is one of two kinds, for the caller's outbox to decide what to do next:

- ``TransientDeliveryError``: trying again later may deliver. Connection refused or reset,
  timeouts, TLS handshakes cut short, 4xx replies (451, 421, 454 auth unavailable).
  A timeout after the message's last byte is transient too although the server may have kept
  it: SMTP cannot tell, and a second copy is better than none.
- ``PermanentDeliveryError``: the same message will fail again. 5xx replies: 550 mailbox
  unavailable, recipient refused, 552/554 message refused, an address needing SMTPUTF8.
  Its subclass ``MailerConfigurationError`` is permanent too, but the *mailer* is at fault,
  not the message: authentication refused (535), the sender refused, a server whose
  certificate is not trusted or not for ``host``, a server offering no STARTTLS or no AUTH.
  Retrying fails until the deployment changes, so an outbox may keep such a message for
  re-sending after the fix instead of giving it up. Also here: ``security tls`` against a
  server that greets in plain text. The reverse (``starttls`` or ``none`` against an implicit
  TLS port) looks like a server that never greets: a transient timeout.

``reason`` (the exception's text) says what failed and quotes the server's reply; it never holds
the password, the message's body or its attachment, and the exceptions keep no link to
aiosmtplib's (``from None``), so no traceback drags those in either.
"""

import asyncio
import contextlib
import ipaddress
import re
import ssl
from collections.abc import Callable
from email.message import EmailMessage
from email.utils import getaddresses
from pathlib import Path
from typing import Literal, Self

import aiosmtplib
from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

from tc_common.logging import register_secret
from tc_common.settings import reject_placeholder

Security = Literal["starttls", "tls", "none"]
DEFAULT_PORTS: dict[Security, int] = {"starttls": 587, "tls": 465, "none": 25}

# One @ between parts with no blank, control character or angle bracket, and a dot in the
# domain (or "localhost"): what a mail server will take as a sender, and nothing that could
# break out of the From header.
_ADDRESS = re.compile(
    r"[^@\s<>\"\x00-\x1f\x7f]+@([^@\s<>\"\x00-\x1f\x7f]+\.[^@\s<>\"\x00-\x1f\x7f.]+|localhost)"
)
_REASON_MAX = 300


def is_loopback(host: str) -> bool:
    """True for names and addresses that never leave the machine (a local relay, a sidecar)."""
    name = host.strip().lower().rstrip(".")
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name.strip("[]")).is_loopback
    except ValueError:
        return False


class SmtpSettings(BaseModel):
    """The mail server that profiles are sent through (``PROVISIONER_SMTP__HOST`` etc. when
    nested as ``smtp`` in the provisioner's settings)."""

    # A refused setting must not echo the password in the start-up error.
    model_config = ConfigDict(frozen=True, hide_input_in_errors=True)

    host: str = Field(min_length=1, description="The SMTP server (submission) host.")
    port: int | None = Field(
        default=None, ge=1, le=65535, description="Unset: 587 (starttls), 465 (tls), 25 (none)."
    )
    security: Security = Field(
        default="starttls",
        description="starttls: plain connection upgraded to TLS, refused if the server does not "
        "offer it. tls: TLS from the first byte (port 465). none: no encryption, only for a "
        "relay on this machine (a loopback host); check_production() refuses it elsewhere.",
    )
    username: str | None = Field(
        default=None, description="Log in (AUTH PLAIN or LOGIN) as this user; unset: no login."
    )
    password: SecretStr | None = Field(default=None, description="The user's password.")
    from_address: str = Field(
        max_length=254, description="Sender address (envelope and From header)."
    )
    from_name: str = Field(
        default="TeslaConnectivity",
        max_length=78,
        pattern=r"^[^\x00-\x1f\x7f]*$",
        description="Display name in the From header.",
    )
    helo_hostname: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9.-]+$",
        description="The name this client gives in EHLO; unset: this machine's FQDN.",
    )
    timeout_s: float = Field(
        default=30.0,
        gt=0,
        description="Longest wait for one step: connecting, a TLS handshake, one reply.",
    )
    send_timeout_s: float = Field(
        default=120.0, gt=0, description="Longest one whole delivery may take, connect to DATA."
    )
    ca_file: Path | None = Field(
        default=None,
        description="PEM file of the CA(s) to trust for the server's certificate (only "
        "those); unset: the system's trust store.",
    )
    validate_certs: bool = Field(
        default=True,
        description="Check the server's certificate and that it is for host. "
        "check_production() refuses false.",
    )

    @property
    def effective_port(self) -> int:
        return self.port if self.port is not None else DEFAULT_PORTS[self.security]

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if not _ADDRESS.fullmatch(self.from_address):
            raise ValueError("from_address is not an email address (local@domain)")
        if (self.username is None) != (self.password is None):
            raise ValueError("username and password go together")
        reject_placeholder("password", self.password)
        if self.security == "none":
            # A setting that would be ignored is a mistake in the deployment: refuse it.
            if self.ca_file is not None or not self.validate_certs:
                raise ValueError("ca_file and validate_certs need security starttls or tls")
            if self.password is not None and not is_loopback(self.host):
                raise ValueError(
                    "security none would send the password in clear over the network; "
                    "use starttls or tls (none is for a relay on this machine)"
                )
        return self

    def check_production(self) -> None:
        """Raise ``ValueError`` unless these settings are fit for production: mail leaves the
        machine only over TLS that checks whom it talks to. Call it from the service's
        settings validator when ``environment == "production"``."""
        if self.security == "none" and not is_loopback(self.host):
            raise ValueError(
                "production needs smtp.security starttls or tls: profiles carry private keys "
                f"and none sends them in clear to {self.host}"
            )
        if not self.validate_certs:
            raise ValueError("production needs smtp.validate_certs true")


class DeliveryError(Exception):
    """A message was not handed over. ``reason`` never holds the password or the message."""

    def __init__(self, reason: str, *, smtp_code: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.smtp_code = smtp_code


class TransientDeliveryError(DeliveryError):
    """Trying again later may deliver."""


class PermanentDeliveryError(DeliveryError):
    """This message will not be delivered however often it is tried."""


class MailerConfigurationError(PermanentDeliveryError):
    """Permanent until the deployment changes (credentials, trust, server); not the message's
    fault."""


class SmtpMailer:
    """Hands messages to the configured SMTP server, one connection per message.

    Each message MUST have exactly one recipient, in To (a profile goes to one person).
    """

    def __init__(self, settings: SmtpSettings) -> None:
        self._settings = settings
        self._password = settings.password.get_secret_value() if settings.password else None
        if self._password is not None:
            register_secret(self._password)
        self._tls_context = None if settings.security == "none" else _tls_context(settings)

    async def send(self, message: EmailMessage) -> None:
        """Deliver ``message`` or raise ``TransientDeliveryError`` / ``PermanentDeliveryError``
        within ``send_timeout_s`` (and ``timeout_s`` more to say goodbye)."""
        _one_recipient(message)
        s = self._settings
        client = aiosmtplib.SMTP(
            hostname=s.host,
            port=s.effective_port,
            use_tls=s.security == "tls",
            # STARTTLS is done by hand below, so that its absence is refused, not skipped.
            start_tls=False,
            tls_context=self._tls_context,
            local_hostname=s.helo_hostname,
            timeout=s.timeout_s,
        )
        try:
            try:
                async with asyncio.timeout(s.send_timeout_s):
                    await self._hand_over(client, message)
            except TimeoutError:
                # _hand_over turns aiosmtplib's own timeouts into DeliveryErrors: this is ours.
                raise TransientDeliveryError(
                    f"delivery to {s.host}:{s.effective_port} took longer than "
                    f"{s.send_timeout_s:g} s"
                ) from None
            # The message is accepted: a QUIT that fails must not make the caller send again.
            with contextlib.suppress(aiosmtplib.SMTPException, OSError):
                await client.quit(timeout=s.timeout_s)
        finally:
            client.close()

    async def _hand_over(self, client: aiosmtplib.SMTP, message: EmailMessage) -> None:
        s = self._settings
        try:
            await client.connect()
            await client.ehlo()
            if s.security == "starttls":
                if not client.supports_extension("starttls"):
                    raise MailerConfigurationError(
                        f"{s.host} offers no STARTTLS; refusing to send in clear"
                    )
                await client.starttls()
                await client.ehlo()
            if s.username is not None and self._password is not None:
                if not client.supported_auth_methods:
                    raise MailerConfigurationError(
                        f"{s.host} offers no AUTH method this client has (PLAIN, LOGIN, "
                        "CRAM-MD5) over this connection"
                    )
                await client.login(s.username, self._password)
            try:
                # The envelope's sender is the configured one, whatever From says: it is the
                # address the server lets this login send as.
                await client.send_message(message, sender=s.from_address)
            except ValueError as exc:
                # aiosmtplib's refusal of an address it cannot send safely (a line break in it).
                raise PermanentDeliveryError(self._scrub(f"unsendable address: {exc}")) from None
        except DeliveryError:
            raise
        except (aiosmtplib.SMTPException, OSError) as exc:
            raise self._classify(exc) from None

    def _classify(self, exc: BaseException) -> DeliveryError:
        s = self._settings
        where = f"{s.host}:{s.effective_port}"
        if _in_chain(exc, lambda e: isinstance(e, ssl.SSLCertVerificationError)):
            return MailerConfigurationError(
                self._scrub(f"the certificate of {where} is not trusted or not for {s.host}: {exc}")
            )
        if _in_chain(exc, _not_tls):
            return MailerConfigurationError(
                self._scrub(
                    f"{where} does not speak TLS from the first byte (security tls against a "
                    f"STARTTLS or plain port?): {exc}"
                )
            )
        if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
            # One recipient per message, so one refusal (the list form is aiosmtplib's).
            codes = [r.code for r in exc.recipients]
            replies = "; ".join(f"{r.code} {r.message}" for r in exc.recipients)
            code = max(codes, default=0)
            kind = PermanentDeliveryError if codes and min(codes) >= 500 else None
            return self._by_code(code, f"{where} refused the recipient: {replies}", kind)
        if isinstance(exc, aiosmtplib.SMTPResponseException):
            reply = f"{exc.code} {exc.message}"
            if isinstance(exc, aiosmtplib.SMTPAuthenticationError):
                text = f"{where} refused the login of {s.username!r}: {reply}"
                return self._by_code(exc.code, text, MailerConfigurationError)
            if isinstance(exc, aiosmtplib.SMTPSenderRefused):
                text = f"{where} refused the sender {s.from_address}: {reply}"
                return self._by_code(exc.code, text, MailerConfigurationError)
            if isinstance(exc, aiosmtplib.SMTPRecipientRefused):
                text = f"{where} refused the recipient: {reply}"
                return self._by_code(exc.code, text, PermanentDeliveryError)
            if isinstance(exc, aiosmtplib.SMTPDataError):
                text = f"{where} refused the message: {reply}"
                return self._by_code(exc.code, text, PermanentDeliveryError)
            # The greeting, EHLO or STARTTLS refused: the server, not the message.
            text = f"{where} answered {reply}"
            return self._by_code(exc.code, text, MailerConfigurationError)
        if isinstance(exc, aiosmtplib.SMTPNotSupported):
            return PermanentDeliveryError(self._scrub(f"{where} cannot take this message: {exc}"))
        # Connection refused or lost, timeouts, a TLS handshake cut short, anything else.
        return TransientDeliveryError(
            self._scrub(f"could not deliver through {where}: {type(exc).__name__}: {exc}")
        )

    def _by_code(
        self, code: int, text: str, permanent: type[PermanentDeliveryError] | None
    ) -> DeliveryError:
        kind: type[DeliveryError] = TransientDeliveryError
        if 500 <= code < 600:
            kind = permanent or PermanentDeliveryError
        return kind(self._scrub(text), smtp_code=code or None)

    def _scrub(self, text: str) -> str:
        # Servers' replies are quoted: a careless (or hostile) one could echo what it was sent.
        if self._password:
            text = text.replace(self._password, "***")
        text = " ".join(text.split())
        return text if len(text) <= _REASON_MAX else text[: _REASON_MAX - 1] + "…"


def _tls_context(settings: SmtpSettings) -> ssl.SSLContext:
    # With a CA file only that CA is trusted (create_default_context then loads no system CAs).
    context = ssl.create_default_context(
        cafile=str(settings.ca_file) if settings.ca_file is not None else None
    )
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if not settings.validate_certs:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def _in_chain(exc: BaseException, test: Callable[[BaseException], bool]) -> bool:
    # aiosmtplib raises TLS errors bare from STARTTLS and wrapped in SMTPConnectError from
    # implicit TLS.
    seen: BaseException | None = exc
    for _ in range(5):
        if seen is None:
            return False
        if test(seen):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _not_tls(exc: BaseException) -> bool:
    # The server's plain "220 ..." greeting read as a TLS record.
    return isinstance(exc, ssl.SSLError) and exc.reason == "WRONG_VERSION_NUMBER"


def _one_recipient(message: EmailMessage) -> None:
    to = getaddresses(message.get_all("To", []))
    others = [h for h in ("Cc", "Bcc", "Resent-To", "Resent-Cc", "Resent-Bcc") if h in message]
    if len(to) != 1 or not to[0][1] or others:
        raise ValueError("a message sent by SmtpMailer has exactly one recipient, in To")

"""A real SMTP server for tests (aiosmtpd, in a thread of its own), and a port that never answers.

``smtp_server`` listens on 127.0.0.1 on a free port, in one of three modes: ``plain``,
``starttls`` (offered, and required before MAIL) or ``tls`` (TLS from the first byte), with a
certificate from ``tc_testkit.tls``. With ``auth=(user, password)`` it requires a login (PLAIN or
LOGIN) and refuses any other with 535. It keeps what it receives (``received()``) and can be told
to refuse (``refuse_next``) or stall (``stall_next``) the next messages, or be stopped
(``stop()``: then nothing listens on its port)::

    with smtp_server(tmp_path, mode="starttls", auth=("mailer", "pw-123456")) as server:
        settings = SmtpSettings(host=server.host, port=server.port, ca_file=server.ca_file, ...)
        await SmtpMailer(settings).send(message)
        [got] = server.received()
        assert got.over_tls and got.authenticated_as == "mailer"

The server's loop runs in its own thread: every access to what it recorded takes a lock.
"""

import asyncio
import contextlib
import email
import email.policy
import socket
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any, Literal

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from tc_testkit.tls import Authority, Issued

Mode = Literal["plain", "starttls", "tls"]
Stage = Literal["rcpt", "data"]


@dataclass(frozen=True)
class Received:
    """One message the server accepted."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    message: EmailMessage
    raw: bytes
    over_tls: bool
    authenticated_as: str | None


@dataclass
class _Fault:
    stage: Stage
    remaining: int
    reply: str | None = None
    stall_s: float = 0.0


class SmtpServer:
    """A running test SMTP server; made by ``smtp_server``."""

    host = "127.0.0.1"

    def __init__(self, mode: Mode, ca_file: Path | None, auth: tuple[str, str] | None) -> None:
        self.mode = mode
        self.ca_file = ca_file
        self._auth = auth
        self._lock = threading.Lock()
        self._received: list[Received] = []
        self._faults: list[_Fault] = []
        self._logins: list[tuple[str, bool]] = []
        self._controller: _Controller | None = None
        self.port = 0

    def received(self) -> tuple[Received, ...]:
        with self._lock:
            return tuple(self._received)

    def logins(self) -> tuple[tuple[str, bool], ...]:
        """Each AUTH attempt: (mechanism, accepted)."""
        with self._lock:
            return tuple(self._logins)

    def refuse_next(
        self, count: int = 1, *, code: int = 451, text: str = "", at: Stage = "data"
    ) -> None:
        """Answer the next ``count`` messages with ``code`` at their RCPT or DATA."""
        default = "4.3.0 Try again later" if code < 500 else "5.1.1 Mailbox unavailable"
        reply = f"{code} {text or default}"
        with self._lock:
            self._faults.append(_Fault(at, count, reply=reply))

    def stall_next(self, count: int = 1, *, seconds: float, at: Stage = "data") -> None:
        """Wait ``seconds`` before answering the next ``count`` messages' RCPT or DATA."""
        with self._lock:
            self._faults.append(_Fault(at, count, stall_s=seconds))

    def stop(self) -> None:
        """Stop listening: connections to ``port`` are refused from now on."""
        controller, self._controller = self._controller, None
        if controller is not None:
            controller.stop()

    def _start(self, controller: "_Controller") -> None:
        controller.start()
        self._controller = controller
        self.port = controller.port

    def _take_fault(self, stage: Stage) -> _Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.stage == stage and fault.remaining > 0:
                    fault.remaining -= 1
                    return fault
        return None

    def _record(self, server: SMTP, session: Session, envelope: Envelope) -> None:
        raw = envelope.original_content or b""
        # CRLF ends every line on the wire; parsed with local line ends, as a mail program shows
        # it (base64 parts decode the same either way).
        parsed = email.message_from_bytes(raw.replace(b"\r\n", b"\n"), policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        login = session.auth_data if session.authenticated else None
        with self._lock:
            self._received.append(
                Received(
                    mail_from=envelope.mail_from or "",
                    rcpt_tos=tuple(envelope.rcpt_tos),
                    message=parsed,
                    raw=raw,
                    # session.ssl is set after STARTTLS only; the transport knows both ways.
                    over_tls=server.transport is not None
                    and server.transport.get_extra_info("sslcontext") is not None,
                    authenticated_as=login if isinstance(login, str) else None,
                )
            )

    def _authenticate(
        self, _server: SMTP, _session: Session, _envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        # aiosmtpd's authenticator signature; only the mechanism and the login matter here.
        assert self._auth is not None
        user, password = self._auth
        ok = isinstance(data, LoginPassword) and (data.login, data.password) == (
            user.encode(),
            password.encode(),
        )
        with self._lock:
            self._logins.append((mechanism, ok))
        # handled=False: aiosmtpd answers a refusal with 535 5.7.8.
        return AuthResult(success=ok, handled=False, auth_data=user if ok else None)


class _Handler:
    def __init__(self, owner: SmtpServer) -> None:
        self._owner = owner

    async def _fault(self, stage: Stage) -> str | None:
        fault = self._owner._take_fault(stage)
        if fault is None:
            return None
        if fault.stall_s:
            await asyncio.sleep(fault.stall_s)
        return fault.reply

    async def handle_RCPT(  # noqa: N802 (aiosmtpd's hook name)
        self,
        _server: SMTP,
        _session: Session,
        envelope: Envelope,
        address: str,
        _options: list[str],
    ) -> str:
        if (reply := await self._fault("rcpt")) is not None:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(  # noqa: N802 (aiosmtpd's hook name)
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        if (reply := await self._fault("data")) is not None:
            return reply
        self._owner._record(server, session, envelope)
        return "250 Message accepted for delivery"


class _Controller(Controller):
    # Listens on port 0 (a free port the system picks, no race with other tests) and learns the
    # port before aiosmtpd's own readiness check connects to it.
    def _trigger_server(self) -> None:
        assert isinstance(self.server, asyncio.Server)
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()  # type: ignore[no-untyped-call]  # aiosmtpd's, untyped


@contextlib.contextmanager
def smtp_server(
    directory: Path,
    *,
    mode: Mode = "plain",
    auth: tuple[str, str] | None = None,
    certificate: Issued | None = None,
) -> Iterator[SmtpServer]:
    """A server as described in the module's docstring. TLS modes use ``certificate`` or else
    one for localhost and 127.0.0.1 from a new CA in ``directory`` (``server.ca_file``)."""
    context: ssl.SSLContext | None = None
    ca_file: Path | None = None
    if mode != "plain":
        if certificate is None:
            authority = Authority.create(directory, name="smtp-test-ca")
            certificate = authority.issue("smtp-server", dns=("localhost",), ips=("127.0.0.1",))
            ca_file = authority.ca_file
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(certificate.cert_file, certificate.key_file)
    server = SmtpServer(mode, ca_file, auth)
    options: dict[str, Any] = {
        # A fixed name: aiosmtpd would otherwise look up this machine's FQDN.
        "server_hostname": "localhost",
        "auth_required": auth is not None,
        # starttls: AUTH only after STARTTLS. plain: AUTH in clear, to test exactly that. tls:
        # aiosmtpd counts only STARTTLS as TLS, so it must be told not to require it.
        "auth_require_tls": mode == "starttls",
        "authenticator": server._authenticate if auth is not None else None,
    }
    if mode == "starttls":
        options |= {"tls_context": context, "require_starttls": True}
    elif mode == "tls":
        options["ssl_context"] = context
    server._start(_Controller(_Handler(server), hostname=SmtpServer.host, port=0, **options))
    try:
        yield server
    finally:
        server.stop()


@contextlib.contextmanager
def unresponsive_port() -> Iterator[int]:
    """A port on 127.0.0.1 whose connections are accepted (by the kernel) and never answered:
    no SMTP greeting, no TLS handshake."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        yield listener.getsockname()[1]


def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (just released by the system)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port

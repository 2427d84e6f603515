"""TLS for tests: a throwaway certificate authority, and a (TLS-terminating) TCP proxy.

The local broker (Tansu) serves neither TLS nor working SASL (``../shared/reference`` notes), so
the Kafka clients' TLS settings are tested against this proxy: it performs a real TLS handshake
with the client (the server certificate, optionally asking for the client's), then forwards the
plain bytes to the broker. The broker advertises the proxy's address, so every connection a
client opens after bootstrapping goes through TLS too.
"""

import asyncio
import contextlib
import datetime
import ipaddress
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

# Certificates are valid from a day before they are made for ten years: a test passes at any
# time of day and on a machine whose clock is a little off.
_VALID = datetime.timedelta(days=3650)
_SKEW = datetime.timedelta(days=1)


def _pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


@dataclass(frozen=True)
class Issued:
    """A certificate and its private key, as PEM files."""

    cert_file: Path
    key_file: Path


@dataclass(frozen=True)
class Authority:
    """A self-signed CA that issues server and client certificates into ``directory``."""

    name: str
    directory: Path
    key: ec.EllipticCurvePrivateKey = field(repr=False)
    cert: x509.Certificate = field(repr=False)

    @property
    def ca_file(self) -> Path:
        return self.directory / f"{self.name}.ca.pem"

    @classmethod
    def create(cls, directory: Path, name: str = "test-ca") -> "Authority":
        key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        now = datetime.datetime.now(datetime.UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - _SKEW)
            .not_valid_after(now + _VALID)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
            .sign(key, hashes.SHA256())
        )
        authority = cls(name, directory, key, cert)
        authority.ca_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        return authority

    def issue(
        self,
        name: str,
        *,
        dns: tuple[str, ...] = (),
        ips: tuple[str, ...] = (),
        client: bool = False,
    ) -> Issued:
        """A leaf certificate for ``dns`` names and ``ips`` (a server's), or for a client."""
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.UTC)
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
            .issuer_name(self.cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - _SKEW)
            .not_valid_after(now + _VALID)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.ExtendedKeyUsage(
                    [ExtendedKeyUsageOID.CLIENT_AUTH if client else ExtendedKeyUsageOID.SERVER_AUTH]
                ),
                critical=False,
            )
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()), False
            )
        )
        names: list[x509.GeneralName] = [x509.DNSName(d) for d in dns]
        names += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in ips]
        if names:
            builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
        cert = builder.sign(self.key, hashes.SHA256())
        issued = Issued(self.directory / f"{name}.pem", self.directory / f"{name}.key.pem")
        issued.cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        issued.key_file.write_bytes(_pem(key))
        issued.key_file.chmod(0o600)
        return issued


class TcpProxy:
    """Accepts connections on 127.0.0.1:``port`` and forwards their bytes to ``upstream``
    (host, port). With ``tls``, it accepts TLS only, with that certificate, and forwards the
    decrypted bytes; with ``client_ca`` too, it requires a client certificate signed by that CA
    (mutual TLS). ``accepted`` counts the connections (past their handshake); ``sent`` keeps
    the first bytes the clients sent (decrypted), to look at what went over the wire."""

    def __init__(
        self,
        upstream: tuple[str, int],
        *,
        port: int,
        tls: Issued | None = None,
        client_ca: Path | None = None,
        keep_bytes: int = 1 << 20,
    ) -> None:
        self.upstream = upstream
        self.port = port
        self.accepted = 0
        self.sent = bytearray()
        self._keep_bytes = keep_bytes
        self.context: ssl.SSLContext | None = None
        if tls is not None:
            self.context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            self.context.load_cert_chain(tls.cert_file, tls.key_file)
            if client_ca is not None:
                self.context.load_verify_locations(cafile=client_ca)
                self.context.verify_mode = ssl.CERT_REQUIRED
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task[None]] = set()

    async def start(self) -> "TcpProxy":
        self._server = await asyncio.start_server(
            self._serve,
            "127.0.0.1",
            self.port,
            ssl=self.context,
            ssl_handshake_timeout=10 if self.context is not None else None,
        )
        return self

    async def stop(self) -> None:
        if self._server is None:
            return
        server, self._server = self._server, None
        server.close()
        for task in list(self._connections):
            task.cancel()
        for task in list(self._connections):
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await server.wait_closed()

    async def __aenter__(self) -> "TcpProxy":
        return await self.start()

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    def _keep(self, data: bytes) -> None:
        self.sent += data[: max(0, self._keep_bytes - len(self.sent))]

    async def _serve(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        self.accepted += 1
        upstream_w: asyncio.StreamWriter | None = None
        try:
            upstream_r, upstream_w = await asyncio.open_connection(*self.upstream)
            async with asyncio.TaskGroup() as pipes:
                pipes.create_task(_pipe(client_r, upstream_w, self._keep))
                pipes.create_task(_pipe(upstream_r, client_w, None))
        except (OSError, ssl.SSLError, ExceptionGroup):
            pass
        finally:
            for writer in (client_w, upstream_w):
                if writer is not None:
                    writer.close()
                    with contextlib.suppress(OSError, ssl.SSLError, asyncio.CancelledError):
                        await writer.wait_closed()
            self._connections.discard(task)


async def _pipe(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    keep: Callable[[bytes], None] | None,
) -> None:
    while data := await reader.read(65536):
        if keep is not None:
            keep(data)
        writer.write(data)
        await writer.drain()
    # One side finished: end the other, so that the whole connection closes.
    writer.close()

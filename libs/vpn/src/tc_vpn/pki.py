"""The VPN's certificate authority: CA, server and device certificates, and the CRL.

Only the ``cryptography`` package, no openssl CLI, no easy-rsa. Time is an argument (``now``,
aware), the clock is never read. Private keys come back as unencrypted PKCS8 PEM: the caller
seals them at rest with its own vault.

Key type: EC P-256 by default (OpenVPN 2.6 / OpenSSL 3 also accept Ed25519 and RSA-2048; P-256
is the one every client library has supported longest). The extensions are the ones OpenVPN's
``remote-cert-tls`` checks need (a KU must be present) and the ones the CRL check needs (the
CA's KU includes cRLSign, otherwise OpenSSL refuses every client).

Device common names: ``<account-id>.<device-slug>`` (``device_common_name``). The account id is
its canonical text (letters, digits, ``-``: a UUID), the device name is folded to a slug of
``a-z0-9-``, and the whole fits X.509's 64-character limit on a CN. Only characters that
OpenVPN keeps as they are everywhere are used (letters, digits, ``.`` and ``-``): it remaps
others to ``_`` in client-config-dir file names, so a CN with ``/`` would name its ccd file
differently from itself. The first ``.`` separates the account from the device (account ids
contain none), and neither ``;`` nor ``=`` can occur, so the CN is safe inside the tls-crypt-v2
metadata ``cn=...;serial=...``.
"""

import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

KeyType = Literal["ec", "ed25519", "rsa"]
PrivateKey = ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey | rsa.RSAPrivateKey

CN_MAX_LENGTH = 64  # X.509 ub-common-name
SERIAL_BITS = 128
# A CRL or certificate made "now" must already be valid on a host whose clock is a little
# behind: OpenSSL refuses a CRL whose lastUpdate is in the future ("CRL is not yet valid", and
# with it every client) and a certificate before its notBefore ("certificate is not yet
# valid"), which a device whose clock lags the provisioner's by a minute would meet.
CLOCK_SKEW_ALLOWANCE = timedelta(minutes=5)
CRL_BACKDATE = CLOCK_SKEW_ALLOWANCE
DEFAULT_CRL_LIFETIME = timedelta(days=30)
DEFAULT_CA_LIFETIME = timedelta(days=3650)
DEFAULT_SERVER_LIFETIME = timedelta(days=825)
DEFAULT_DEVICE_LIFETIME = timedelta(days=365)

_ACCOUNT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]*")
_NOT_SLUG = re.compile(r"[^a-z0-9]+")
_SERVER_NAME = re.compile(r"[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?")


@dataclass(frozen=True)
class Issued:
    """A certificate and its private key (PKCS8 PEM, unencrypted: seal it before storing)."""

    serial: int
    common_name: str
    not_before: datetime
    not_after: datetime
    cert_pem: bytes
    key_pem: bytes = field(repr=False)


@dataclass(frozen=True)
class RevokedCertificate:
    """A CRL entry: which serial, since when and why."""

    serial: int
    revoked_at: datetime
    reason: x509.ReasonFlags = x509.ReasonFlags.unspecified


@dataclass(frozen=True)
class Crl:
    """A signed CRL as PEM, with its validity window."""

    last_update: datetime
    next_update: datetime
    crl_pem: bytes
    revoked_serials: frozenset[int]


def device_common_name(account_id: str, device_name: str) -> str:
    """The CN of a device's certificate: ``<account-id>.<device-slug>`` (module docstring).

    ``ValueError`` if the account id is not plain letters, digits and dashes, if the device
    name has no letter or digit, or if the two do not fit in 64 characters.
    """
    if not _ACCOUNT_ID.fullmatch(account_id):
        raise ValueError(f"account id {account_id!r} is not letters, digits and dashes")
    slug = _NOT_SLUG.sub("-", device_name.lower()).strip("-")
    if not slug:
        raise ValueError(f"device name {device_name!r} has no letter or digit")
    room = CN_MAX_LENGTH - len(account_id) - 1
    if room < 1:
        raise ValueError(f"account id {account_id!r} leaves no room for a device name")
    return f"{account_id}.{slug[:room].rstrip('-')}"


def random_serial() -> int:
    """A random positive 128-bit serial (the top bit may be 0; never 0 itself)."""
    while True:
        serial = secrets.randbits(SERIAL_BITS)
        if serial:
            return serial


def load_private_key(key_pem: bytes) -> PrivateKey:
    """A private key returned by this module, loaded back (``ValueError`` if it is not one)."""
    key = serialization.load_pem_private_key(key_pem, password=None)
    if not isinstance(
        key, ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey | rsa.RSAPrivateKey
    ):
        raise ValueError(f"unsupported key type {type(key).__name__}")
    return key


def load_certificate(cert_pem: bytes) -> x509.Certificate:
    return x509.load_pem_x509_certificate(cert_pem)


def create_ca(
    common_name: str,
    now: datetime,
    *,
    lifetime: timedelta = DEFAULT_CA_LIFETIME,
    key_type: KeyType = "ec",
) -> Issued:
    """A self-signed CA: basicConstraints CA:true (critical, path length 0), KU keyCertSign and
    cRLSign (both critical)."""
    _require_aware(now)
    key = _generate_key(key_type)
    name = _name(common_name)
    serial = random_serial()
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(serial)
        .not_valid_before(now - CLOCK_SKEW_ALLOWANCE)
        .not_valid_after(now + lifetime)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(cert_sign=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, _digest(key))
    )
    return _issued(cert, key)


def issue_server_certificate(
    ca: Issued,
    server_name: str,
    now: datetime,
    *,
    lifetime: timedelta = DEFAULT_SERVER_LIFETIME,
    key_type: KeyType = "ec",
) -> Issued:
    """The server's certificate: CN and SAN DNS ``server_name``, KU digitalSignature (plus
    keyAgreement for EC, keyEncipherment for RSA), EKU serverAuth.

    Clients pin the server with ``verify-x509-name <server_name> name`` and
    ``remote-cert-tls server``.
    """
    if not _SERVER_NAME.fullmatch(server_name) or len(server_name) > CN_MAX_LENGTH:
        raise ValueError(f"server name {server_name!r} is not a plain DNS name")
    key = _generate_key(key_type)
    builder = (
        _leaf_builder(ca, key, server_name, now, lifetime)
        .add_extension(
            _key_usage(
                key_agreement=isinstance(key, ec.EllipticCurvePrivateKey),
                key_encipherment=isinstance(key, rsa.RSAPrivateKey),
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(server_name)]), critical=False)
    )
    return _issued(builder.sign(_ca_key(ca), _digest(_ca_key(ca))), key)


def issue_device_certificate(
    ca: Issued,
    common_name: str,
    now: datetime,
    *,
    lifetime: timedelta = DEFAULT_DEVICE_LIFETIME,
    key_type: KeyType = "ec",
) -> Issued:
    """A device's client certificate: the CN given (see ``device_common_name``), a random
    128-bit serial, KU digitalSignature, EKU clientAuth."""
    if not common_name or len(common_name) > CN_MAX_LENGTH or "\n" in common_name:
        raise ValueError(f"common name {common_name!r} is empty, too long or multi-line")
    key = _generate_key(key_type)
    builder = (
        _leaf_builder(ca, key, common_name, now, lifetime)
        .add_extension(_key_usage(), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
    )
    return _issued(builder.sign(_ca_key(ca), _digest(_ca_key(ca))), key)


def create_crl(
    ca: Issued,
    revoked: Iterable[RevokedCertificate],
    now: datetime,
    *,
    lifetime: timedelta = DEFAULT_CRL_LIFETIME,
) -> Crl:
    """A CRL signed by ``ca``: lastUpdate ``now`` - 5 min, nextUpdate ``now`` + ``lifetime``.

    Re-sign it well before nextUpdate: OpenVPN refuses EVERY client once the CRL has expired.
    """
    _require_aware(now)
    ca_cert = load_certificate(ca.cert_pem)
    ca_key = _ca_key(ca)
    last_update, next_update = now - CRL_BACKDATE, now + lifetime
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(ca_cert.subject)
        .last_update(last_update)
        .next_update(next_update)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
    )
    serials = set()
    for entry in revoked:
        _require_aware(entry.revoked_at)
        serials.add(entry.serial)
        revoked_cert = x509.RevokedCertificateBuilder().serial_number(entry.serial)
        revoked_cert = revoked_cert.revocation_date(entry.revoked_at)
        if entry.reason is not x509.ReasonFlags.unspecified:
            revoked_cert = revoked_cert.add_extension(x509.CRLReason(entry.reason), critical=False)
        builder = builder.add_revoked_certificate(revoked_cert.build())
    crl = builder.sign(ca_key, _digest(ca_key))
    return Crl(
        last_update=last_update,
        next_update=next_update,
        crl_pem=crl.public_bytes(serialization.Encoding.PEM),
        revoked_serials=frozenset(serials),
    )


def _leaf_builder(
    ca: Issued, key: PrivateKey, common_name: str, now: datetime, lifetime: timedelta
) -> x509.CertificateBuilder:
    _require_aware(now)
    ca_cert = load_certificate(ca.cert_pem)
    return (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(random_serial())
        .not_valid_before(now - CLOCK_SKEW_ALLOWANCE)
        .not_valid_after(min(now + lifetime, ca_cert.not_valid_after_utc))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(_ca_key(ca).public_key()),
            critical=False,
        )
    )


def _key_usage(
    *, cert_sign: bool = False, key_agreement: bool = False, key_encipherment: bool = False
) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=not cert_sign,
        content_commitment=False,
        key_encipherment=key_encipherment,
        data_encipherment=False,
        key_agreement=key_agreement,
        key_cert_sign=cert_sign,
        crl_sign=cert_sign,
        encipher_only=False,
        decipher_only=False,
    )


def _generate_key(key_type: KeyType) -> PrivateKey:
    if key_type == "ec":
        return ec.generate_private_key(ec.SECP256R1())
    if key_type == "ed25519":
        return ed25519.Ed25519PrivateKey.generate()
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _digest(key: PrivateKey) -> hashes.SHA256 | None:
    # Ed25519 signs the message itself: no separate digest.
    return None if isinstance(key, ed25519.Ed25519PrivateKey) else hashes.SHA256()


def _ca_key(ca: Issued) -> PrivateKey:
    return load_private_key(ca.key_pem)


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _issued(cert: x509.Certificate, key: PrivateKey) -> Issued:
    return Issued(
        serial=cert.serial_number,
        common_name=str(cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value),
        not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc,
        cert_pem=cert.public_bytes(serialization.Encoding.PEM),
        key_pem=key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
    )


def _require_aware(moment: datetime) -> None:
    if moment.utcoffset() is None:
        raise ValueError("times must be timezone-aware")

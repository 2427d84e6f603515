"""What the mail tests share: a realistic inline OpenVPN profile with a real private key."""

import os

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec


def _key_pem() -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def ovpn_profile() -> bytes:
    """An inline client profile, as the PKI writes them; its key and tls-crypt key are new
    random values on every call (the certificates are stand-ins: never parsed here)."""
    tls_crypt = "\n".join(os.urandom(16).hex() for _ in range(16))
    return f"""client
dev tun
proto udp
remote vpn.example.org 1194
nobind
remote-cert-tls server
<ca>
-----BEGIN CERTIFICATE-----
MIIBdzCCAR2gAwIBAgIUTESTCAtestCAtestCAtestCAtestCAwCgYIKoZIzj0EAwIw
-----END CERTIFICATE-----
</ca>
<cert>
-----BEGIN CERTIFICATE-----
MIIBfjCCASSgAwIBAgIUclientclientclientclientclientcwCgYIKoZIzj0EAwIw
-----END CERTIFICATE-----
</cert>
<key>
{_key_pem()}</key>
<tls-crypt>
-----BEGIN OpenVPN Static key V1-----
{tls_crypt}
-----END OpenVPN Static key V1-----
</tls-crypt>
""".encode()


def block_lines(profile: bytes, tag: str) -> list[str]:
    """The lines between ``<tag>`` and ``</tag>``, blank ones left out."""
    text = profile.decode()
    inner = text.split(f"<{tag}>", 1)[1].split(f"</{tag}>", 1)[0]
    return [line for line in inner.splitlines() if line.strip()]

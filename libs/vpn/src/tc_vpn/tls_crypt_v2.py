"""tls-crypt-v2 keys in pure Python, byte-compatible with OpenVPN 2.6 (``src/openvpn/tls_crypt.c``).

Why v2 rather than one shared tls-crypt key: every device gets its own control-channel key, so
a revoked device's packets can be dropped before TLS (by the verify hook, on the metadata), and
a leaked profile does not let anyone else past the tls-crypt layer.

Formats, as OpenVPN writes and reads them:

- Server key: PEM ``OpenVPN tls-crypt-v2 server key`` around 128 random bytes, OpenVPN's
  ``struct key``: 64 cipher bytes then 64 HMAC bytes. Ke is the first 32 cipher bytes
  (AES-256-CTR), Ka the first 32 HMAC bytes (HMAC-SHA256).
- Client key: PEM ``OpenVPN tls-crypt-v2 client key`` around ``Kc || WKc``. Kc is 256 random
  bytes (``struct key2``: two ``struct key``). The metadata is a type byte (0 = user bytes,
  1 = a 64-bit timestamp) followed by its bytes. With ``L`` the 16-bit big-endian length of
  WKc, ``T = HMAC-SHA256(Ka, L || Kc || metadata)``, and
  ``WKc = T || AES-256-CTR(Ke, iv=T[:16], Kc || metadata) || L``.

The client sends WKc in its first packet; the server unwraps it with the server key, checks T,
and (with ``tls-crypt-v2-verify``) hands the metadata to the hook.
"""

import base64
import hmac
import os
import struct
from dataclasses import dataclass, field
from hashlib import sha256

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

SERVER_PEM_NAME = "OpenVPN tls-crypt-v2 server key"
CLIENT_PEM_NAME = "OpenVPN tls-crypt-v2 client key"
SERVER_KEY_BYTES = 128
CLIENT_KEY_BYTES = 256
TAG_BYTES = 32
MAX_WKC_BYTES = 1024
METADATA_TYPE_USER = 0
METADATA_TYPE_TIMESTAMP = 1
# The wrapped key is at most 1024 bytes: tag, Kc, the length and the metadata's type byte.
MAX_METADATA_BYTES = MAX_WKC_BYTES - TAG_BYTES - CLIENT_KEY_BYTES - 2 - 1

STATIC_KEY_V1_BEGIN = "-----BEGIN OpenVPN Static key V1-----"
STATIC_KEY_V1_END = "-----END OpenVPN Static key V1-----"


class TlsCryptV2Error(ValueError):
    """A key that is not a tls-crypt-v2 key, or a client key the server key does not open."""


@dataclass(frozen=True)
class ServerKey:
    """A tls-crypt-v2 server key (keep it with the server only)."""

    raw: bytes = field(repr=False)

    def __post_init__(self) -> None:
        if len(self.raw) != SERVER_KEY_BYTES:
            raise TlsCryptV2Error(f"a server key is {SERVER_KEY_BYTES} bytes, not {len(self.raw)}")

    @property
    def encryption_key(self) -> bytes:
        return self.raw[:32]

    @property
    def authentication_key(self) -> bytes:
        return self.raw[64:96]

    def to_pem(self) -> bytes:
        return _pem_encode(SERVER_PEM_NAME, self.raw)

    @classmethod
    def from_pem(cls, pem: bytes) -> "ServerKey":
        return cls(_pem_decode(SERVER_PEM_NAME, pem))


@dataclass(frozen=True)
class UnwrappedClientKey:
    """What the server learns from a client's WKc."""

    client_key: bytes = field(repr=False)
    metadata_type: int
    metadata: bytes


def generate_server_key() -> ServerKey:
    return ServerKey(os.urandom(SERVER_KEY_BYTES))


def wrap_client_key(server_key: ServerKey, metadata: bytes) -> bytes:
    """A new client key (PEM) that carries ``metadata`` as user metadata (type 0).

    We use ``cn=<common name>;serial=<hex serial>`` (``device_metadata``).
    """
    if len(metadata) > MAX_METADATA_BYTES:
        raise TlsCryptV2Error(f"metadata is {len(metadata)} bytes, at most {MAX_METADATA_BYTES}")
    client_key = os.urandom(CLIENT_KEY_BYTES)
    plain = client_key + bytes([METADATA_TYPE_USER]) + metadata
    length = struct.pack(">H", TAG_BYTES + len(plain) + 2)
    tag = hmac.new(server_key.authentication_key, length + plain, sha256).digest()
    encryptor = Cipher(algorithms.AES(server_key.encryption_key), modes.CTR(tag[:16])).encryptor()
    wrapped = tag + encryptor.update(plain) + encryptor.finalize() + length
    return _pem_encode(CLIENT_PEM_NAME, client_key + wrapped)


def unwrap_client_key(server_key: ServerKey, client_key_pem: bytes) -> UnwrappedClientKey:
    """Open a client key's WKc as the server does; ``TlsCryptV2Error`` if it does not
    authenticate (another server key, or tampered)."""
    data = _pem_decode(CLIENT_PEM_NAME, client_key_pem)
    if len(data) < CLIENT_KEY_BYTES + TAG_BYTES + 1 + 2:
        raise TlsCryptV2Error("the client key is too short")
    kc, wrapped = data[:CLIENT_KEY_BYTES], data[CLIENT_KEY_BYTES:]
    (length,) = struct.unpack(">H", wrapped[-2:])
    if length != len(wrapped) or length > MAX_WKC_BYTES:
        raise TlsCryptV2Error("the wrapped key's length field does not match its size")
    tag, ciphertext = wrapped[:TAG_BYTES], wrapped[TAG_BYTES:-2]
    decryptor = Cipher(algorithms.AES(server_key.encryption_key), modes.CTR(tag[:16])).decryptor()
    plain = decryptor.update(ciphertext) + decryptor.finalize()
    expected = hmac.new(server_key.authentication_key, wrapped[-2:] + plain, sha256).digest()
    if not hmac.compare_digest(tag, expected):
        raise TlsCryptV2Error("client key authentication failed (another server key, or altered)")
    if plain[:CLIENT_KEY_BYTES] != kc:
        # OpenVPN only uses the wrapped copy; a mismatch means the file was assembled wrongly.
        raise TlsCryptV2Error("the client key does not match its wrapped copy")
    return UnwrappedClientKey(
        client_key=kc,
        metadata_type=plain[CLIENT_KEY_BYTES],
        metadata=plain[CLIENT_KEY_BYTES + 1 :],
    )


def device_metadata(common_name: str, serial: int) -> bytes:
    """The metadata a device's key carries: ``cn=<cn>;serial=<lower-case hex>``."""
    if any(c in common_name for c in ";=\n\r\0"):
        raise ValueError(f"common name {common_name!r} cannot be carried in the metadata")
    return f"cn={common_name};serial={serial:x}".encode("ascii")


def read_device_metadata(server_key: ServerKey, client_key_pem: bytes) -> tuple[str, int]:
    """The (common name, serial) a client key was wrapped with (for tests and audits)."""
    unwrapped = unwrap_client_key(server_key, client_key_pem)
    if unwrapped.metadata_type != METADATA_TYPE_USER:
        raise TlsCryptV2Error(f"metadata type {unwrapped.metadata_type} is not user metadata")
    fields = dict(
        part.split("=", 1) for part in unwrapped.metadata.decode("ascii").split(";") if "=" in part
    )
    try:
        return fields["cn"], int(fields["serial"], 16)
    except (KeyError, ValueError) as error:
        raise TlsCryptV2Error(
            f"metadata {unwrapped.metadata!r} is not cn=...;serial=..."
        ) from error


def generate_tls_crypt_v1_key() -> bytes:
    """A tls-crypt (v1) static key: 256 random bytes as 16 lines of hex. One key shared by
    every profile, so a revoked device still reaches TLS: kept for comparison only."""
    raw = os.urandom(256).hex()
    lines = [raw[i : i + 32] for i in range(0, len(raw), 32)]
    return ("\n".join([STATIC_KEY_V1_BEGIN, *lines, STATIC_KEY_V1_END]) + "\n").encode("ascii")


def _pem_encode(name: str, data: bytes) -> bytes:
    body = base64.b64encode(data).decode("ascii")
    lines = [body[i : i + 64] for i in range(0, len(body), 64)]
    return ("\n".join([f"-----BEGIN {name}-----", *lines, f"-----END {name}-----"]) + "\n").encode(
        "ascii"
    )


def _pem_decode(name: str, pem: bytes) -> bytes:
    text = pem.decode("ascii", errors="replace").strip()
    begin, end = f"-----BEGIN {name}-----", f"-----END {name}-----"
    if not text.startswith(begin) or not text.endswith(end):
        raise TlsCryptV2Error(f"not a PEM {name!r}")
    try:
        return base64.b64decode("".join(text[len(begin) : -len(end)].split()), validate=True)
    except ValueError as error:
        raise TlsCryptV2Error(f"the {name!r} is not valid base64") from error

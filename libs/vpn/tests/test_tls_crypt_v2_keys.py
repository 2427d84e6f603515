"""tls-crypt-v2 keys are byte-compatible with OpenVPN 2.6: keys made by ``openvpn --genkey``
open here, and a key wrapped here opens only with its server key and unaltered."""

import base64
import re

import pytest

from tc_vpn import tls_crypt_v2
from tc_vpn.tls_crypt_v2 import ServerKey, TlsCryptV2Error

from .support import (
    OPENVPN_CLIENT_KEY,
    OPENVPN_METADATA,
    OPENVPN_SERVER_KEY,
    OPENVPN_TIMESTAMP_CLIENT_KEY,
)

METADATA = b"cn=acct.phone;serial=1f"


def _body(pem: bytes) -> bytes:
    return base64.b64decode(b"".join(pem.strip().splitlines()[1:-1]))


def _pem_of(name: str, data: bytes) -> bytes:
    text = base64.b64encode(data).decode()
    lines = [text[i : i + 64] for i in range(0, len(text), 64)]
    return "\n".join([f"-----BEGIN {name}-----", *lines, f"-----END {name}-----", ""]).encode()


class TestOpenvpnCompatibility:
    def test_client_key_made_by_openvpn_opens_with_its_user_metadata(self) -> None:
        server_key = ServerKey.from_pem(OPENVPN_SERVER_KEY.read_bytes())
        opened = tls_crypt_v2.unwrap_client_key(server_key, OPENVPN_CLIENT_KEY.read_bytes())
        assert opened.metadata_type == tls_crypt_v2.METADATA_TYPE_USER
        assert opened.metadata == OPENVPN_METADATA

    def test_openvpn_default_metadata_is_a_timestamp_and_no_device_metadata(self) -> None:
        server_key = ServerKey.from_pem(OPENVPN_SERVER_KEY.read_bytes())
        key = OPENVPN_TIMESTAMP_CLIENT_KEY.read_bytes()
        opened = tls_crypt_v2.unwrap_client_key(server_key, key)
        assert opened.metadata_type == tls_crypt_v2.METADATA_TYPE_TIMESTAMP
        assert len(opened.metadata) == 8
        with pytest.raises(TlsCryptV2Error, match="not user metadata"):
            tls_crypt_v2.read_device_metadata(server_key, key)

    def test_device_metadata_is_read_back_from_an_openvpn_key(self) -> None:
        server_key = ServerKey.from_pem(OPENVPN_SERVER_KEY.read_bytes())
        cn, serial = tls_crypt_v2.read_device_metadata(server_key, OPENVPN_CLIENT_KEY.read_bytes())
        assert cn == "0f3c6d2e-4b1a-4c8e-9d7f-2a5b8c1e6f90.kitchen-tablet"
        assert serial == 0x9C1E05F2A7B3D4E6F8091A2B3C4D5E6F

    def test_our_key_files_have_openvpns_layout(self) -> None:
        server_key = tls_crypt_v2.generate_server_key()
        client_pem = tls_crypt_v2.wrap_client_key(server_key, METADATA)
        assert client_pem.startswith(b"-----BEGIN OpenVPN tls-crypt-v2 client key-----\n")
        assert client_pem.endswith(b"-----END OpenVPN tls-crypt-v2 client key-----\n")
        assert all(len(line) <= 64 for line in client_pem.splitlines())
        body = _body(client_pem)
        # Kc (256) + tag (32) + Kc || type || metadata + length (2)
        assert len(body) == 256 + 32 + 256 + 1 + len(METADATA) + 2
        assert int.from_bytes(body[-2:], "big") == len(body) - 256
        server_pem = server_key.to_pem()
        assert server_pem.startswith(b"-----BEGIN OpenVPN tls-crypt-v2 server key-----\n")
        assert len(_body(server_pem)) == 128
        assert ServerKey.from_pem(server_pem) == server_key


class TestWrapping:
    def test_metadata_round_trips(self) -> None:
        server_key = tls_crypt_v2.generate_server_key()
        pem = tls_crypt_v2.wrap_client_key(
            server_key, tls_crypt_v2.device_metadata("acct.phone", 0xABC)
        )
        assert tls_crypt_v2.read_device_metadata(server_key, pem) == ("acct.phone", 0xABC)

    def test_each_client_key_is_fresh(self) -> None:
        server_key = tls_crypt_v2.generate_server_key()
        first = tls_crypt_v2.wrap_client_key(server_key, METADATA)
        second = tls_crypt_v2.wrap_client_key(server_key, METADATA)
        assert _body(first)[:256] != _body(second)[:256]

    def test_key_of_another_server_key_does_not_open(self) -> None:
        pem = tls_crypt_v2.wrap_client_key(tls_crypt_v2.generate_server_key(), METADATA)
        with pytest.raises(TlsCryptV2Error, match="authentication failed"):
            tls_crypt_v2.unwrap_client_key(tls_crypt_v2.generate_server_key(), pem)

    @pytest.mark.parametrize(
        "offset",
        [256, 256 + 31, 256 + 32, 256 + 32 + 256 + 3],
        ids=["tag", "tag-end", "kc", "metadata"],
    )
    def test_altered_wrapped_key_does_not_open(self, offset: int) -> None:
        server_key = tls_crypt_v2.generate_server_key()
        body = bytearray(_body(tls_crypt_v2.wrap_client_key(server_key, METADATA)))
        body[offset] ^= 0x01
        with pytest.raises(TlsCryptV2Error, match="authentication failed"):
            tls_crypt_v2.unwrap_client_key(
                server_key, _pem_of(tls_crypt_v2.CLIENT_PEM_NAME, bytes(body))
            )

    def test_altered_length_field_does_not_open(self) -> None:
        server_key = tls_crypt_v2.generate_server_key()
        body = bytearray(_body(tls_crypt_v2.wrap_client_key(server_key, METADATA)))
        body[-1] ^= 0x01
        with pytest.raises(TlsCryptV2Error, match="length"):
            tls_crypt_v2.unwrap_client_key(
                server_key, _pem_of(tls_crypt_v2.CLIENT_PEM_NAME, bytes(body))
            )

    def test_metadata_longer_than_openvpn_takes_is_refused(self) -> None:
        server_key = tls_crypt_v2.generate_server_key()
        tls_crypt_v2.wrap_client_key(server_key, b"x" * tls_crypt_v2.MAX_METADATA_BYTES)
        with pytest.raises(TlsCryptV2Error, match="at most 733"):
            tls_crypt_v2.wrap_client_key(server_key, b"x" * (tls_crypt_v2.MAX_METADATA_BYTES + 1))

    def test_server_key_is_not_accepted_as_a_client_key(self) -> None:
        server_key = tls_crypt_v2.generate_server_key()
        with pytest.raises(TlsCryptV2Error, match="not a PEM"):
            tls_crypt_v2.unwrap_client_key(server_key, server_key.to_pem())

    @pytest.mark.parametrize("cn", ["a;serial=1", "a=b", "a\nb"])
    def test_common_name_that_would_forge_metadata_fields_is_refused(self, cn: str) -> None:
        with pytest.raises(ValueError, match="metadata"):
            tls_crypt_v2.device_metadata(cn, 1)


def test_tls_crypt_v1_key_is_16_lines_of_hex_between_openvpn_markers() -> None:
    lines = tls_crypt_v2.generate_tls_crypt_v1_key().decode().splitlines()
    assert lines[0] == "-----BEGIN OpenVPN Static key V1-----"
    assert lines[-1] == "-----END OpenVPN Static key V1-----"
    assert len(lines) == 18
    assert all(re.fullmatch(r"[0-9a-f]{32}", line) for line in lines[1:-1])

"""The server configuration and the device profile say exactly what the access path needs:
one pushed route, no compression, everything inline, and no value can add a line."""

import re
from dataclasses import replace
from ipaddress import IPv4Address, IPv4Network
from pathlib import Path

import pytest

from tc_vpn import config, pki, tls_crypt_v2

from .support import SERVER_NAME, device

FILES = Path("/etc/tc-vpn")
SETTINGS = config.ServerSettings(
    ca_path=FILES / "ca.pem",
    cert_path=FILES / "server.pem",
    key_path=FILES / "server.key",
    crl_path=FILES / "crl.pem",
    tls_crypt_v2_key_path=FILES / "tls-crypt-v2-server.key",
    management_socket=Path("/run/tc-vpn/management.sock"),
)
PROFILE = config.ProfileSettings(public_host="vpn.example.org", server_name=SERVER_NAME, port=1194)
FORBIDDEN = re.compile(
    r"^\s*(comp-lzo|compress|redirect-gateway|dhcp-option|push \"(?!route))", re.M
)


@pytest.fixture(scope="module")
def credentials(ca: pki.Issued) -> config.DeviceCredentials:
    issued = device(ca)
    server_key = tls_crypt_v2.generate_server_key()
    return config.DeviceCredentials(
        ca_pem=ca.cert_pem,
        cert_pem=issued.cert_pem,
        key_pem=issued.key_pem,
        tls_crypt_v2_key_pem=tls_crypt_v2.wrap_client_key(
            server_key, tls_crypt_v2.device_metadata(issued.common_name, issued.serial)
        ),
    )


def _lines(text: str) -> list[str]:
    return text.splitlines()


class TestServerConfig:
    def test_server_serves_the_tunnel_network_with_one_cipher_and_tls_crypt_v2(self) -> None:
        lines = _lines(config.render_server_config(SETTINGS))
        for expected in [
            "port 1194",
            "proto udp",
            "dev tun",
            "topology subnet",
            "server 10.8.0.0 255.255.255.0",
            "dh none",
            "data-ciphers AES-256-GCM",
            "auth SHA256",
            "tls-version-min 1.2",
            "remote-cert-tls client",
            "ca /etc/tc-vpn/ca.pem",
            "cert /etc/tc-vpn/server.pem",
            "key /etc/tc-vpn/server.key",
            "crl-verify /etc/tc-vpn/crl.pem",
            "tls-crypt-v2 /etc/tc-vpn/tls-crypt-v2-server.key",
            "management /run/tc-vpn/management.sock unix",
            "persist-key",
            "explicit-exit-notify 1",
        ]:
            assert expected in lines

    def test_only_a_host_route_to_the_api_is_pushed(self) -> None:
        text = config.render_server_config(SETTINGS)
        assert [line for line in _lines(text) if line.startswith("push")] == [
            'push "route 10.8.0.1 255.255.255.255"'
        ]
        other = replace(SETTINGS, api_address=IPv4Address("10.8.0.53"))
        assert 'push "route 10.8.0.53 255.255.255.255"' in config.render_server_config(other)

    def test_no_compression_no_gateway_redirect_no_dns(self) -> None:
        assert not FORBIDDEN.search(config.render_server_config(SETTINGS))

    def test_network_and_port_are_settings(self) -> None:
        text = config.render_server_config(
            replace(SETTINGS, network=IPv4Network("10.77.4.0/22"), port=11940)
        )
        assert "server 10.77.4.0 255.255.252.0" in _lines(text)
        assert "port 11940" in _lines(text)
        assert 'push "route 10.77.4.1 255.255.255.255"' in _lines(text)

    def test_verify_hook_is_an_absolute_quoted_command_with_script_security_2(self) -> None:
        hook = config.verify_hook_command(Path("/etc/tc-vpn/deny-list"), python="/usr/bin/python3")
        lines = _lines(config.render_server_config(replace(SETTINGS, verify_hook=hook)))
        assert "script-security 2" in lines
        [verify] = [line for line in lines if line.startswith("tls-crypt-v2-verify ")]
        assert verify.startswith('tls-crypt-v2-verify "/usr/bin/python3 -I -S /')
        assert verify.endswith('/tc_vpn/verify_hook.py /etc/tc-vpn/deny-list"')

    def test_without_a_hook_scripts_stay_disabled(self) -> None:
        text = config.render_server_config(SETTINGS)
        assert "script-security" not in text
        assert "tls-crypt-v2-verify" not in text

    @pytest.mark.parametrize(
        "change",
        [
            {"crl_path": Path("crl.pem")},
            {"key_path": Path("/etc/tc-vpn/server.key\nscript-security 3")},
            {"management_socket": Path("/run/my socket")},
            {"ca_path": Path('/etc/"ca.pem')},
            {"verify_hook": ("python3", "/x/hook.py")},
            {"verify_hook": ("/usr/bin/python3", "/x/hook.py /etc/passwd")},
            {"verify_hook": ("/usr/bin/python3", '/x/hook.py"\nup "/bin/sh')},
            {"verify_hook": ()},
            {"port": 0},
            {"network": IPv4Network("10.8.0.0/31")},
        ],
        ids=[
            "relative-path",
            "newline-in-path",
            "blank-in-path",
            "quote-in-path",
            "relative-hook",
            "blank-in-hook-argument",
            "quote-in-hook-argument",
            "empty-hook",
            "port-zero",
            "network-without-clients",
        ],
    )
    def test_values_that_could_add_lines_or_break_the_config_are_refused(
        self, change: dict[str, object]
    ) -> None:
        with pytest.raises(ValueError, match=r"path|argument|empty|port|network"):
            config.render_server_config(replace(SETTINGS, **change))  # type: ignore[arg-type]


class TestDeviceProfile:
    def test_profile_pins_the_server_and_uses_one_cipher(
        self, credentials: config.DeviceCredentials
    ) -> None:
        lines = _lines(config.render_device_profile(PROFILE, credentials))
        for expected in [
            "client",
            "dev tun",
            "proto udp",
            "remote vpn.example.org 1194",
            "nobind",
            "remote-cert-tls server",
            f"verify-x509-name {SERVER_NAME} name",
            "data-ciphers AES-256-GCM",
            "auth SHA256",
            "tls-version-min 1.2",
            "resolv-retry infinite",
            "persist-key",
            "persist-tun",
        ]:
            assert expected in lines

    def test_keys_and_certificates_are_inline_each_once(
        self, credentials: config.DeviceCredentials
    ) -> None:
        text = config.render_device_profile(PROFILE, credentials)
        for tag, pem in [
            ("ca", credentials.ca_pem),
            ("cert", credentials.cert_pem),
            ("key", credentials.key_pem),
            ("tls-crypt-v2", credentials.tls_crypt_v2_key_pem),
        ]:
            assert text.count(f"<{tag}>\n") == 1
            assert f"<{tag}>\n{pem.decode()}</{tag}>\n" in text

    def test_profile_references_no_file_and_has_no_compression(
        self, credentials: config.DeviceCredentials
    ) -> None:
        text = config.render_device_profile(PROFILE, credentials)
        outside_blocks = re.sub(r"<([a-z0-9-]+)>.*?</\1>\n", "", text, flags=re.S)
        options = {line.split()[0] for line in _lines(outside_blocks)}
        assert not options & {"ca", "cert", "key", "tls-crypt-v2", "tls-crypt", "tls-auth"}
        assert not FORBIDDEN.search(text)

    @pytest.mark.parametrize(
        "change",
        [
            {"public_host": "vpn.example.org 1194\nup /bin/sh"},
            {"public_host": "vpn.example.org\r"},
            {"public_host": ""},
            {"server_name": "vpn.example.org name\nscript-security 2"},
            {"port": 70000},
        ],
        ids=["newline-in-host", "carriage-return", "empty-host", "newline-in-server-name", "port"],
    )
    def test_values_that_could_add_lines_are_refused(
        self, credentials: config.DeviceCredentials, change: dict[str, object]
    ) -> None:
        with pytest.raises(ValueError, match=r"host|name|port"):
            config.render_device_profile(replace(PROFILE, **change), credentials)  # type: ignore[arg-type]

    def test_ipv6_remote_is_accepted(self, credentials: config.DeviceCredentials) -> None:
        text = config.render_device_profile(
            replace(PROFILE, public_host="2001:db8::1"), credentials
        )
        assert "remote 2001:db8::1 1194" in _lines(text)

    def test_pem_block_that_would_close_its_tag_early_is_refused(
        self, credentials: config.DeviceCredentials
    ) -> None:
        smuggled = credentials.key_pem + b"</key>\nup /bin/sh\n<key>\n"
        with pytest.raises(ValueError, match="exactly one PEM"):
            config.render_device_profile(PROFILE, replace(credentials, key_pem=smuggled))

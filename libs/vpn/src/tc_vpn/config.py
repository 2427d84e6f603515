"""The OpenVPN server configuration and a device's inline ``.ovpn`` profile, as text.

The VPN reaches exactly one thing, the API: the server pushes a host route to the API address
and nothing else (no ``redirect-gateway``, no DNS), so a device's other traffic never enters
the tunnel. No compression anywhere (VORACLE). One cipher, AES-256-GCM; TLS 1.2 at least;
tls-crypt-v2 in front of TLS.

Every value that lands in a line is checked: a newline, quote, comment sign or blank in a host,
name or path could add configuration lines (``ValueError``). Paths must be absolute: the
server's working directory is not ours to assume.
"""

import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Network
from pathlib import Path

from tc_vpn import verify_hook

DEFAULT_PORT = 1194
DEFAULT_NETWORK = IPv4Network("10.8.0.0/24")
CIPHER = "AES-256-GCM"

_SAFE_PATH = re.compile(r"/[A-Za-z0-9/._+@-]*")
_HOST_NAME = re.compile(r"[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?")
_IPV6 = re.compile(r"[0-9A-Fa-f:.]+")
_PEM = re.compile(r"-----BEGIN ([A-Za-z0-9 -]+)-----\n[A-Za-z0-9+/=\n]+-----END \1-----\n?")


@dataclass(frozen=True)
class ServerSettings:
    """Where the server's files are and which network it serves.

    ``verify_hook`` is the command line of the tls-crypt-v2 verify hook (absolute program
    path first; see ``verify_hook_command``), or None for no hook.
    """

    ca_path: Path
    cert_path: Path
    key_path: Path
    crl_path: Path
    tls_crypt_v2_key_path: Path
    management_socket: Path
    port: int = DEFAULT_PORT
    network: IPv4Network = DEFAULT_NETWORK
    # The API's address inside the tunnel; by default the server's own (the network's first).
    api_address: IPv4Address | None = None
    verify_hook: Sequence[str] | None = None
    keepalive_interval_s: int = 10
    keepalive_timeout_s: int = 60
    # In server mode this tells connected clients to reconnect at once when the server
    # restarts (instead of at ping-restart); it delays the server's exit by ~2 s.
    explicit_exit_notify: bool = True

    @property
    def tunnel_address(self) -> IPv4Address:
        return next(self.network.hosts())


@dataclass(frozen=True)
class ProfileSettings:
    """What a device needs to find and recognise the server."""

    public_host: str
    server_name: str
    port: int = DEFAULT_PORT


@dataclass(frozen=True)
class DeviceCredentials:
    """The PEM blocks a profile inlines."""

    ca_pem: bytes
    cert_pem: bytes
    key_pem: bytes = field(repr=False)
    tls_crypt_v2_key_pem: bytes = field(repr=False)


def verify_hook_command(deny_list: Path, *, python: str | None = None) -> tuple[str, ...]:
    """The hook as ``python -I -S <verify_hook.py> DENY_LIST``: an isolated interpreter without
    site-packages starts fastest, and the hook needs only the standard library."""
    return (python or sys.executable, "-I", "-S", str(Path(verify_hook.__file__)), str(deny_list))


def console_script_command(deny_list: Path, *, prefix: str | None = None) -> tuple[str, ...]:
    """The hook as the installed ``tc-vpn-verify`` console script (slower: site and .pth)."""
    return (str(Path(prefix or sys.prefix) / "bin" / "tc-vpn-verify"), str(deny_list))


def render_server_config(settings: ServerSettings) -> str:
    """``server.conf``. Status and log files are the caller's (command line or appended)."""
    s = settings
    paths = {
        "ca": s.ca_path,
        "cert": s.cert_path,
        "key": s.key_path,
        "crl-verify": s.crl_path,
        "tls-crypt-v2": s.tls_crypt_v2_key_path,
    }
    for option, path in paths.items():
        _check_path(option, path)
    _check_path("management", s.management_socket)
    _check_port(s.port)
    if s.network.prefixlen > 30:
        raise ValueError(f"network {s.network} has no room for clients")
    api_address = s.api_address or s.tunnel_address
    if s.keepalive_interval_s <= 0 or s.keepalive_timeout_s <= 2 * s.keepalive_interval_s:
        raise ValueError("keepalive timeout must exceed twice the interval")
    lines = [
        f"port {s.port}",
        "proto udp",
        "dev tun",
        "topology subnet",
        f"server {s.network.network_address} {s.network.netmask}",
        "dh none",
        f"data-ciphers {CIPHER}",
        "auth SHA256",
        "tls-version-min 1.2",
        "remote-cert-tls client",
        *(f"{option} {path}" for option, path in paths.items()),
    ]
    if s.verify_hook is not None:
        lines += ["script-security 2", f'tls-crypt-v2-verify "{_command(s.verify_hook)}"']
    lines += [
        f"management {s.management_socket} unix",
        f'push "route {api_address} 255.255.255.255"',
        f"keepalive {s.keepalive_interval_s} {s.keepalive_timeout_s}",
        "persist-key",
        "verb 3",
    ]
    if s.explicit_exit_notify:
        lines.append("explicit-exit-notify 1")
    return "\n".join(lines) + "\n"


def render_device_profile(settings: ProfileSettings, credentials: DeviceCredentials) -> str:
    """A device's ``.ovpn``: every key and certificate inline, no file reference."""
    _check_host(settings.public_host)
    _check_port(settings.port)
    if not _HOST_NAME.fullmatch(settings.server_name):
        raise ValueError(f"server name {settings.server_name!r} is not a plain DNS name")
    blocks = {
        "ca": credentials.ca_pem,
        "cert": credentials.cert_pem,
        "key": credentials.key_pem,
        "tls-crypt-v2": credentials.tls_crypt_v2_key_pem,
    }
    lines = [
        "client",
        "dev tun",
        "proto udp",
        f"remote {settings.public_host} {settings.port}",
        "nobind",
        "resolv-retry infinite",
        "remote-cert-tls server",
        f"verify-x509-name {settings.server_name} name",
        f"data-ciphers {CIPHER}",
        "auth SHA256",
        "tls-version-min 1.2",
        "persist-key",
        "persist-tun",
        "verb 3",
    ]
    for tag, pem in blocks.items():
        lines += [f"<{tag}>", _check_pem(tag, pem).rstrip("\n"), f"</{tag}>"]
    return "\n".join(lines) + "\n"


def _check_path(option: str, path: Path) -> None:
    if not path.is_absolute() or not _SAFE_PATH.fullmatch(str(path)):
        raise ValueError(f"{option} path {str(path)!r} is not absolute or has unsafe characters")


def _check_port(port: int) -> None:
    if not 0 < port < 65536:
        raise ValueError(f"port {port} is out of range")


def _check_host(host: str) -> None:
    if not (_HOST_NAME.fullmatch(host) or (":" in host and _IPV6.fullmatch(host))):
        raise ValueError(f"host {host!r} is not a host name or an address")


def _check_pem(tag: str, pem: bytes) -> str:
    text = pem.decode("ascii", errors="replace").replace("\r\n", "\n").strip() + "\n"
    if not _PEM.fullmatch(text):
        raise ValueError(f"the <{tag}> block is not exactly one PEM object")
    return text


def _command(argv: Sequence[str]) -> str:
    if not argv:
        raise ValueError("the verify hook command is empty")
    program = Path(argv[0])
    _check_path("tls-crypt-v2-verify", program)
    for arg in argv[1:]:
        if not re.fullmatch(r"[A-Za-z0-9/._+@=-]+", arg):
            raise ValueError(f"verify hook argument {arg!r} has unsafe characters")
    return " ".join(argv)

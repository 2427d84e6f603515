"""``python -m tc_provisioner.server_config --out DIR``: the OpenVPN server's files.

The provisioner holds the certificate authority, so it writes what the server needs, for the
operator to install beside it (a k8s Secret, a compose volume): ``server.conf``, the CA and
server certificates, the server's private key and tls-crypt-v2 server key (mode 0600), the
current CRL and the verify hook's deny list. From then on the VPN agent keeps the last two
fresh. Reads the provisioner's settings (``PROVISIONER_POSTGRES__URL``, ``PROVISIONER_VAULT__*``,
``PROVISIONER_VPN__*``); creates the authority if no provisioner has yet.
"""

import argparse
import asyncio
import sys
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network
from pathlib import Path

from tc_provisioner.adapters import PostgresProvisioningDecisions
from tc_provisioner.main import vpn_of
from tc_provisioner.settings import ProvisionerSettings
from tc_provisioner.vpn_agent.adapters import CRL_FILE, DENY_LIST_FILE
from tc_vpn import config
from tc_vpn.revocation import render_deny_list, write_atomically

CA_FILE = "ca.crt"
CERT_FILE = "server.crt"
KEY_FILE = "server.key"
TLS_CRYPT_V2_FILE = "tls-crypt-v2-server.key"
CONFIG_FILE = "server.conf"
MANAGEMENT_SOCKET = "management.sock"


@dataclass(frozen=True)
class ServerFilesWritten:
    directory: Path
    files: tuple[str, ...]


async def write_server_files(
    settings: ProvisionerSettings,
    out: Path,
    *,
    server_dir: Path,
    verify_hook: tuple[str, ...] | None = None,
    management_socket: Path | None = None,
) -> ServerFilesWritten:
    """Write the server's files into ``out`` (which exists); the configuration names them
    under ``server_dir``, an absolute path: where the server will find them."""
    if settings.vpn is None:
        raise ValueError("PROVISIONER_VPN__* is not set: there is no VPN to configure")
    decisions = PostgresProvisioningDecisions(
        settings.postgres.url.get_secret_value(),
        retry_initial_s=settings.db_retry_initial_s,
        retry_max_s=settings.db_retry_max_s,
        connect_timeout_s=settings.db_connect_timeout_s,
    )
    await decisions.start()
    try:
        vpn = vpn_of(settings, decisions)
        assert vpn is not None
        await vpn.ensure_authority(settings.clock().now())
        row, opened = await vpn.authority_files()
        crl = await vpn.current_crl()
    finally:
        await decisions.close()
    assert crl is not None  # ensure_authority signs the first CRL
    there = server_dir
    network = IPv4Network(settings.vpn.network)
    server = config.ServerSettings(
        ca_path=there / CA_FILE,
        cert_path=there / CERT_FILE,
        key_path=there / KEY_FILE,
        crl_path=there / CRL_FILE,
        tls_crypt_v2_key_path=there / TLS_CRYPT_V2_FILE,
        management_socket=management_socket or there / MANAGEMENT_SOCKET,
        port=settings.vpn.public_port,
        network=network,
        api_address=IPv4Address(settings.vpn.api_address),
        verify_hook=verify_hook,
    )
    files = {
        CA_FILE: (row.ca_cert_pem.encode("ascii"), 0o644),
        CERT_FILE: (row.server_cert_pem.encode("ascii"), 0o644),
        KEY_FILE: (opened.server.key_pem, 0o600),
        TLS_CRYPT_V2_FILE: (opened.tls_crypt_v2.to_pem(), 0o600),
        CRL_FILE: (crl.crl_pem.encode("ascii"), 0o644),
        DENY_LIST_FILE: (render_deny_list(int(s, 16) for s in crl.revoked_serials_hex), 0o644),
        CONFIG_FILE: (config.render_server_config(server).encode("ascii"), 0o644),
    }
    for name, (data, mode) in files.items():
        write_atomically(out / name, data, mode=mode)
    return ServerFilesWritten(directory=out, files=tuple(files))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tc_provisioner.server_config",
        description="Write the OpenVPN server's configuration, certificates and keys.",
    )
    parser.add_argument("--out", type=Path, required=True, help="directory to write into")
    parser.add_argument(
        "--server-dir",
        type=Path,
        help="where the server will read the files (default: --out)",
    )
    parser.add_argument(
        "--verify-hook",
        action="store_true",
        help="refuse revoked devices before TLS with the tls-crypt-v2 verify hook (needs this "
        "package's Python on the server; adds ~30 ms per connect)",
    )
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    settings = ProvisionerSettings()
    there = args.server_dir or args.out.absolute()
    hook = config.verify_hook_command(there / DENY_LIST_FILE) if args.verify_hook else None
    written = asyncio.run(
        write_server_files(settings, args.out, server_dir=there, verify_hook=hook)
    )
    sys.stdout.write(
        f"wrote {', '.join(written.files)} into {written.directory}\n"
        "keep server.key and tls-crypt-v2-server.key secret (mode 0600)\n"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

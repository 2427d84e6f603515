"""A real OpenVPN tunnel for tests: two network namespaces, openvpn processes, sockets inside.

``VpnLab`` makes a server and a client namespace joined by a veth pair (by default
198.18.255.1/30 and .2/30, a benchmarking range nobody routes), starts ``openvpn`` in either
(``ip netns exec NS openvpn ...``, which execs in place, so the PID is openvpn's), and on
``close`` stops only the processes it started (after checking ``/proc/PID`` is still its
child) and deletes its namespaces, also when the test failed. Namespace names carry the PID
(``tcvpn-s-<pid>-<n>``): a later run removes the namespaces of runs that died. The processes
are started with a parent-death signal, so a killed test run leaves no openvpn behind. Start
them from the thread that lives as long as the test (the main one): that thread's exit sends
the signal.

``VpnDeployment`` is the VPN as the project runs it (``tc_vpn``'s PKI, tls-crypt-v2 keys,
server configuration with the verify hook, device profiles, revocation files, management
client) inside a lab.

Sockets inside a namespace: ``listening_socket_in_netns`` binds and listens in the server
namespace (a socket stays in the namespace it was created in), so an in-process server can
listen on the tunnel address; ``serve_asgi`` serves an ASGI app on it with uvicorn
(``uvicorn.Server(config).serve(sockets=[sock])``), the real API app as well as the tiny
``peer_echo_app``. ``http_get_in_netns`` makes a request from the client namespace. Python
3.11 has no ``os.setns``: a short-lived thread calls libc's.

Example::

    with VpnLab.open(tmp_path) as lab:
        vpn = VpnDeployment.create(lab, tmp_path / "vpn", now=NOW)
        vpn.start_server()
        sock = listening_socket_in_netns(lab.server_ns, str(vpn.tunnel_address), 8080)
        with serve_asgi(sock, peer_echo_app()):
            alice = vpn.issue_device("alice", NOW)
            client = vpn.connect(alice)
            client.wait_for_log(CONNECTED)
            status, body = http_get_in_netns(lab.client_ns, str(vpn.tunnel_address), 8080)
            client.stop()
"""

import asyncio
import contextlib
import ctypes
import itertools
import os
import re
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from ipaddress import IPv4Address, IPv4Interface, IPv4Network
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, TypeVar

import uvicorn
from cryptography import x509

from tc_vpn import config, pki, revocation, tls_crypt_v2
from tc_vpn.management import ManagementClient

if TYPE_CHECKING:
    from uvicorn._types import ASGIApplication, ASGIReceiveCallable, ASGISendCallable, Scope

T = TypeVar("T")

NETNS_PREFIX = "tcvpn-"
NETNS_DIR = Path("/run/netns")
DEFAULT_VETH_NETWORK = IPv4Network("198.18.255.0/30")
CLONE_NEWNET = 0x40000000
PR_SET_PDEATHSIG = 1
STOP_TIMEOUT_S = 6.0  # explicit-exit-notify delays a server's exit by ~2 s

CONNECTED = re.compile(r"Initialization Sequence Completed$", re.MULTILINE)
DATA_CHANNEL_AES_GCM = re.compile(r"Data Channel: cipher 'AES-256-GCM'")
SERVER_READY = CONNECTED

_STALE = re.compile(rf"{NETNS_PREFIX}[sc]-(\d+)-\d+")
_counter = itertools.count(1)
_libc = ctypes.CDLL(None, use_errno=True)


def _ip(*args: str) -> None:
    done = subprocess.run(["ip", *args], capture_output=True, text=True, check=False)
    if done.returncode:
        raise RuntimeError(f"ip {' '.join(args)} failed: {done.stderr.strip()}")


def remove_stale_namespaces() -> list[str]:
    """Delete the namespaces of earlier runs whose process is gone; their names."""
    removed = []
    for entry in NETNS_DIR.iterdir() if NETNS_DIR.is_dir() else []:
        match = _STALE.fullmatch(entry.name)
        if match and not Path(f"/proc/{match.group(1)}").exists():
            with contextlib.suppress(RuntimeError):
                _ip("netns", "delete", entry.name)
                removed.append(entry.name)
    return removed


def _set_parent_death_signal() -> None:
    _libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


@dataclass
class OpenVpnProcess:
    """An openvpn process the lab started, and its log file."""

    name: str
    popen: subprocess.Popen[bytes]
    log_path: Path
    started_at: float  # time.monotonic() at spawn

    @property
    def pid(self) -> int:
        return self.popen.pid

    @property
    def running(self) -> bool:
        return self.popen.poll() is None

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def mark(self) -> int:
        """A position in the log: ``wait_for_log(..., since=mark)`` looks only after it."""
        return len(self.log())

    def wait_for_log(
        self, pattern: re.Pattern[str] | str, *, since: int = 0, timeout_s: float = 10.0
    ) -> re.Match[str]:
        """The first match of ``pattern`` in the log after ``since``; ``AssertionError`` with
        the log's tail if it does not appear in time or the process exits without it."""
        regex = re.compile(pattern, re.MULTILINE) if isinstance(pattern, str) else pattern
        deadline = time.monotonic() + timeout_s
        while True:
            exited = not self.running
            match = regex.search(self.log(), since)
            if match:
                return match
            if exited or time.monotonic() >= deadline:
                why = f"exited with {self.popen.returncode}" if exited else f"{timeout_s}s passed"
                tail = "\n".join(self.log()[since:].splitlines()[-25:])
                raise AssertionError(
                    f"{self.name}: {regex.pattern!r} not in its log ({why}); log tail:\n{tail}"
                )
            time.sleep(0.005)

    def is_own_child(self) -> bool:
        """Whether ``pid`` is still the process this test started (not a reused PID)."""
        try:
            stat = Path(f"/proc/{self.pid}/stat").read_text()
        except FileNotFoundError:
            return False
        # The command name (field 2) may contain blanks; the fields after ")" are plain.
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        return parent == os.getpid()

    def stop(self, timeout_s: float = STOP_TIMEOUT_S) -> None:
        """SIGTERM, then SIGKILL after ``timeout_s``; only if it is still our child."""
        if self.running and self.is_own_child():
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(timeout_s)
        elif self.popen.returncode is None:
            self.popen.poll()

    def kill(self) -> None:
        """SIGKILL at once (a refused client that would wait for its hand-window)."""
        if self.running and self.is_own_child():
            self.popen.kill()
            self.popen.wait(STOP_TIMEOUT_S)


@dataclass
class VpnLab:
    """Two namespaces joined by a veth pair, and the processes started in them."""

    workdir: Path
    server_ns: str
    client_ns: str
    server_address: IPv4Address
    client_address: IPv4Address
    processes: list[OpenVpnProcess] = field(default_factory=list)

    @classmethod
    def open(cls, workdir: Path, veth_network: IPv4Network = DEFAULT_VETH_NETWORK) -> "VpnLab":
        """Create the namespaces (``close`` deletes them; use it as a context manager)."""
        remove_stale_namespaces()
        n = next(_counter)
        server_ns = f"{NETNS_PREFIX}s-{os.getpid()}-{n}"
        client_ns = f"{NETNS_PREFIX}c-{os.getpid()}-{n}"
        server_address, client_address = list(veth_network.hosts())[:2]
        workdir.mkdir(parents=True, exist_ok=True)
        lab = cls(workdir, server_ns, client_ns, server_address, client_address)
        try:
            _ip("netns", "add", server_ns)
            _ip("netns", "add", client_ns)
            # The pair is made inside the server namespace and its peer moved at once: no
            # interface name ever exists in the host's namespace, so runs cannot collide.
            _ip("-n", server_ns, "link", "add", "veth-s", "type", "veth", "peer", "name", "veth-c")
            _ip("-n", server_ns, "link", "set", "veth-c", "netns", client_ns)
            for ns, dev, address in (
                (server_ns, "veth-s", server_address),
                (client_ns, "veth-c", client_address),
            ):
                interface = IPv4Interface(f"{address}/{veth_network.prefixlen}")
                _ip("-n", ns, "addr", "add", str(interface), "dev", dev)
                _ip("-n", ns, "link", "set", dev, "up")
                _ip("-n", ns, "link", "set", "lo", "up")
        except BaseException:
            lab.close()
            raise
        return lab

    def __enter__(self) -> "VpnLab":
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def start_openvpn(self, ns: str, config_path: Path, name: str, *args: str) -> OpenVpnProcess:
        """``openvpn --config config_path`` in ``ns``, logging to ``<workdir>/<name>.log``."""
        log_path = self.workdir / f"{name}.log"
        log_path.unlink(missing_ok=True)
        command = [
            "ip", "netns", "exec", ns, "openvpn",
            "--config", str(config_path),
            "--writepid", str(self.workdir / f"{name}.pid"),
            "--log", str(log_path),
            *args,
        ]  # fmt: skip
        with (self.workdir / f"{name}.out").open("ab") as out:
            popen = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                # The child runs only prctl before exec: no lock of ours is involved.
                preexec_fn=_set_parent_death_signal,
            )
        process = OpenVpnProcess(name, popen, log_path, time.monotonic())
        self.processes.append(process)
        return process

    def close(self) -> None:
        """Stop our processes, then delete our namespaces; errors are collected, not raised
        half-way, so one failure does not leave the rest behind."""
        errors: list[str] = []
        for process in reversed(self.processes):
            try:
                process.stop()
            except (OSError, subprocess.SubprocessError) as error:
                errors.append(f"{process.name}: {error}")
        for ns in (self.client_ns, self.server_ns):
            if (NETNS_DIR / ns).exists():
                try:
                    _ip("netns", "delete", ns)
                except RuntimeError as error:
                    errors.append(str(error))
        if errors:
            raise RuntimeError("; ".join(errors))


def run_in_netns(ns: str, action: Callable[[], T]) -> T:
    """``action()`` run by a thread that has entered namespace ``ns`` (setns is per thread)."""
    outcome: list[T] = []
    failure: list[BaseException] = []

    def enter_and_run() -> None:
        try:
            descriptor = os.open(NETNS_DIR / ns, os.O_RDONLY)
            try:
                if _libc.setns(descriptor, CLONE_NEWNET) != 0:
                    code = ctypes.get_errno()
                    raise OSError(code, f"setns({ns}): {os.strerror(code)}")
            finally:
                os.close(descriptor)
            outcome.append(action())
        except BaseException as error:  # handed to the caller's thread
            failure.append(error)

    thread = threading.Thread(target=enter_and_run, name=f"netns-{ns}")
    thread.start()
    thread.join()
    if failure:
        raise failure[0]
    return outcome[0]


def socket_in_netns(ns: str, kind: socket.SocketKind = socket.SOCK_STREAM) -> socket.socket:
    """A new IPv4 socket that lives in ``ns`` (connect or bind it from any thread)."""
    return run_in_netns(ns, lambda: socket.socket(socket.AF_INET, kind))


def listening_socket_in_netns(ns: str, host: str, port: int) -> socket.socket:
    """A TCP socket bound to ``host:port`` in ``ns`` and listening (for uvicorn's ``sockets``)."""

    def bind_and_listen() -> socket.socket:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((host, port))
            sock.listen(16)
        except BaseException:
            sock.close()
            raise
        return sock

    return run_in_netns(ns, bind_and_listen)


def http_get_in_netns(
    ns: str, host: str, port: int, path: str = "/", *, timeout_s: float = 3.0
) -> tuple[int, bytes]:
    """(status, body) of ``GET path`` from namespace ``ns``; connection errors propagate
    (``ConnectionRefusedError``, ``TimeoutError``, ``OSError`` ENETUNREACH)."""
    return http_request_in_netns(ns, host, port, "GET", path, timeout_s=timeout_s)


def http_request_in_netns(
    ns: str,
    host: str,
    port: int,
    method: str,
    path: str = "/",
    *,
    headers: dict[str, str] | None = None,
    body: bytes = b"",
    timeout_s: float = 3.0,
) -> tuple[int, bytes]:
    """(status, body) of one HTTP/1.0 request from namespace ``ns`` (the server closes the
    connection after the response, so its end is the body's); connection errors propagate."""
    lines = [f"{method} {path} HTTP/1.0", f"Host: {host}", f"Content-Length: {len(body)}"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    with socket_in_netns(ns) as sock:
        sock.settimeout(timeout_s)
        sock.connect((host, port))
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("ascii") + body)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    head, _, payload = b"".join(chunks).partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), payload


@contextlib.contextmanager
def serve_asgi(sock: socket.socket, app: "ASGIApplication") -> Iterator[uvicorn.Server]:
    """Serve ``app`` with uvicorn on the listening ``sock`` (made by
    ``listening_socket_in_netns``), in a thread with its own event loop, until the block ends.

    The real API app goes here as it is: ``serve_asgi(sock, create_app(settings))``.
    """
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="auto"))
    failure: list[BaseException] = []

    def run() -> None:
        try:
            asyncio.run(server.serve(sockets=[sock]))
        except BaseException as error:  # handed to the test's thread
            failure.append(error)

    thread = threading.Thread(target=run, name="uvicorn-in-netns")
    thread.start()
    deadline = time.monotonic() + 10.0
    while not server.started:
        if failure or not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            thread.join()
            raise RuntimeError(f"uvicorn did not start on {sock.getsockname()}: {failure}")
        time.sleep(0.01)
    try:
        yield server
    finally:
        server.should_exit = True
        thread.join()


def peer_echo_app() -> "ASGIApplication":
    """A tiny ASGI app answering ``hello peer=<client address>`` (what the API would see)."""

    async def app(
        scope: "Scope", _receive: "ASGIReceiveCallable", send: "ASGISendCallable"
    ) -> None:
        if scope["type"] != "http":
            return  # lifespan: nothing to start or stop
        client = scope.get("client")
        body = f"hello peer={client[0] if client else '?'}".encode()
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-length", str(len(body)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": body})

    return app


@dataclass(frozen=True)
class Device:
    """A device with an issued profile."""

    name: str
    common_name: str
    certificate: pki.Issued
    profile_path: Path


@dataclass
class VpnDeployment:
    """The VPN as the project runs it, inside a lab: PKI, keys, config, revocation files."""

    lab: VpnLab
    directory: Path
    ca: pki.Issued
    server_key: tls_crypt_v2.ServerKey
    settings: config.ServerSettings
    profile_settings: config.ProfileSettings
    account_id: str = "0f3c6d2e-4b1a-4c8e-9d7f-2a5b8c1e6f90"
    revoked: list[pki.RevokedCertificate] = field(default_factory=list)
    server: OpenVpnProcess | None = None
    restarts: int = 0

    SERVER_NAME = "vpn.teslaconnectivity.test"

    @classmethod
    def create(
        cls,
        lab: VpnLab,
        directory: Path,
        now: datetime,
        *,
        verify_hook: Callable[[Path], Sequence[str]] | None = config.verify_hook_command,
        port: int = config.DEFAULT_PORT,
        network: IPv4Network = config.DEFAULT_NETWORK,
    ) -> "VpnDeployment":
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "devices").mkdir(exist_ok=True)
        ca = pki.create_ca("teslaconnectivity test VPN CA", now)
        server_cert = pki.issue_server_certificate(ca, cls.SERVER_NAME, now)
        server_key = tls_crypt_v2.generate_server_key()
        files = {
            "ca.pem": ca.cert_pem,
            "server.pem": server_cert.cert_pem,
            "server.key": server_cert.key_pem,
            "tls-crypt-v2-server.key": server_key.to_pem(),
            "crl.pem": pki.create_crl(ca, [], now).crl_pem,
            "deny-list": b"",
        }
        for name, data in files.items():
            revocation.write_atomically(directory / name, data, mode=0o600)
        settings = config.ServerSettings(
            ca_path=directory / "ca.pem",
            cert_path=directory / "server.pem",
            key_path=directory / "server.key",
            crl_path=directory / "crl.pem",
            tls_crypt_v2_key_path=directory / "tls-crypt-v2-server.key",
            management_socket=directory / "management.sock",
            port=port,
            network=network,
            verify_hook=verify_hook(directory / "deny-list") if verify_hook else None,
        )
        (directory / "server.conf").write_text(config.render_server_config(settings))
        profile_settings = config.ProfileSettings(
            public_host=str(lab.server_address), server_name=cls.SERVER_NAME, port=port
        )
        return cls(lab, directory, ca, server_key, settings, profile_settings)

    @property
    def tunnel_address(self) -> IPv4Address:
        return self.settings.tunnel_address

    def issue_device(
        self,
        name: str,
        now: datetime,
        *,
        ca: pki.Issued | None = None,
        tls_crypt_v2_key: bytes | None = None,
    ) -> Device:
        """A device's certificate and profile; ``ca`` and ``tls_crypt_v2_key`` override ours
        (a profile from another CA, a tampered key)."""
        common_name = pki.device_common_name(self.account_id, name)
        issued = pki.issue_device_certificate(ca or self.ca, common_name, now)
        key = tls_crypt_v2_key or tls_crypt_v2.wrap_client_key(
            self.server_key, tls_crypt_v2.device_metadata(common_name, issued.serial)
        )
        profile = config.render_device_profile(
            self.profile_settings,
            config.DeviceCredentials(
                ca_pem=self.ca.cert_pem,
                cert_pem=issued.cert_pem,
                key_pem=issued.key_pem,
                tls_crypt_v2_key_pem=key,
            ),
        )
        path = self.directory / "devices" / f"{name}.ovpn"
        path.write_text(profile)
        path.chmod(0o600)
        return Device(name, common_name, issued, path)

    def revoke(self, device: Device, now: datetime, *, crl: bool = True, deny: bool = True) -> None:
        """Publish the revocation to the running server: the CRL and/or the deny list."""
        self.revoked.append(
            pki.RevokedCertificate(device.certificate.serial, now, x509.ReasonFlags.superseded)
        )
        if crl:
            revocation.write_crl(
                self.settings.crl_path, pki.create_crl(self.ca, self.revoked, now).crl_pem
            )
        if deny:
            revocation.write_deny_list(
                self.directory / "deny-list", (r.serial for r in self.revoked)
            )

    def start_server(self, timeout_s: float = 10.0) -> OpenVpnProcess:
        self.server = self.lab.start_openvpn(
            self.lab.server_ns, self.directory / "server.conf", f"server-{self.restarts}"
        )
        self.server.wait_for_log(SERVER_READY, timeout_s=timeout_s)
        return self.server

    def restart_server(self) -> OpenVpnProcess:
        """Stop the server completely and start a new process on the same files."""
        assert self.server is not None
        self.server.stop()
        self.restarts += 1
        return self.start_server()

    def connect(self, device: Device, *args: str) -> OpenVpnProcess:
        """Start ``device``'s client (not waiting). A refused client only gives up when its
        hand-window ends and then exits 0: read the logs, kill it once the server refused."""
        return self.lab.start_openvpn(
            self.lab.client_ns,
            device.profile_path,
            f"client-{device.name}-{len(self.lab.processes)}",
            "--tls-exit",
            "--hand-window",
            "5",
            *args,
        )

    def management(self) -> ManagementClient:
        return ManagementClient(self.settings.management_socket)

"""The whole system as local processes: broker, PostgreSQL, Tessie simulator, five services.

``make run`` and the end-to-end tests both use ``Stack``: the same wiring a user gets is the
wiring the tests check. Embedded parts are replaced by real ones when configured
(``KAFKA_BOOTSTRAP_SERVERS``, ``DATABASE_URL``, ``TESSIE_TOKEN``).
"""

import base64
import json
import logging
import os
import secrets
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from types import TracebackType
from uuid import UUID

import httpx

from tc_common.clock import Clock, ShiftedClock, system_or_shifted
from tc_common.health import LIVEZ_PATH
from tc_common.settings import KafkaSettings
from tc_devstack.demo_account import open_demo_account_sync, register_demo_token
from tc_devstack.kafka import LocalKafka
from tc_devstack.mailbox import LocalMailbox
from tc_devstack.net import free_port, wait_for_port
from tc_devstack.postgres import LocalPostgres

log = logging.getLogger("tc.stack")

SERVICES = ("store", "forecast", "provisioner", "api", "ingest")
"""Start order: the store (it migrates the database), then the others together."""


@dataclass
class StackConfig:
    run_dir: Path
    kafka_bootstrap_servers: str | None = None
    database_url: str | None = None
    tessie_token: str | None = None
    tessie_base_url: str = "https://api.tessie.com"
    entsoe_token: str | None = None
    api_key: str | None = None
    api_port: int | None = None
    sim_vehicles: int = 3
    sim_seed: int = 1
    sim_sentry_share: float = 1.0
    # More simulated Tessie accounts besides the demo fleet, (name, vehicles, seed) each: a
    # token and a fleet of their own (tests with several tenants); their tokens are in
    # Stack.sim_account_tokens.
    sim_accounts: tuple[tuple[str, int, int], ...] = ()
    # None: every process runs on the system clock. A moment: the simulated fleet, the market
    # fakes and the five services all play time from it (one offset, computed at start), so a
    # run or a test sees a weekday 07:30 or a DST night whatever the wall clock says.
    start_at: datetime | None = None
    poll_interval_s: float = 10.0
    keep_database: bool = True
    log_level: str = "INFO"
    extra_env: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_environment(cls, run_dir: Path) -> "StackConfig":
        env = os.environ
        return cls(
            run_dir=run_dir,
            kafka_bootstrap_servers=env.get("KAFKA_BOOTSTRAP_SERVERS") or None,
            database_url=env.get("DATABASE_URL") or None,
            tessie_token=env.get("TESSIE_TOKEN") or None,
            tessie_base_url=env.get("TESSIE_BASE_URL") or "https://api.tessie.com",
            entsoe_token=env.get("ENTSOE_TOKEN") or None,
            api_key=env.get("API_KEY") or None,
            api_port=int(env.get("API_PORT", "8000")),
            sim_vehicles=int(env.get("SIM_VEHICLES", "3")),
            start_at=_aware(env["SIM_START_AT"]) if env.get("SIM_START_AT") else None,
            poll_interval_s=float(env.get("POLL_INTERVAL_S", "10")),
        )


def _aware(text: str) -> datetime:
    at = datetime.fromisoformat(text)
    if at.tzinfo is None:
        raise ValueError(f"SIM_START_AT={text!r} needs a UTC offset, e.g. 2026-12-09T07:30+01:00")
    return at


class PortBusyError(RuntimeError):
    """The API port asked for is taken: the README's URLs would point at something else."""


class Stack:
    def __init__(self, config: StackConfig) -> None:
        self.config = config
        self.run_dir = config.run_dir
        self.log_dir = self.run_dir / "logs"
        self.kafka: LocalKafka | None = None
        self.postgres: LocalPostgres | None = None
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.ports: dict[str, int] = {}
        self.bootstrap_servers = ""
        self.database_url = ""
        self.tessie_base_url = ""
        self.tessie_token = ""
        self.sim_account_tokens: dict[str, str] = {}
        self.api_key = ""
        self.operator_key = ""
        self.vault_key = ""
        self.demo_account_id: UUID | None = None
        self.simulated = False
        self.market_fakes_url: str | None = None
        self._market_token = ""
        self.mailbox: LocalMailbox | None = None
        # Computed once, here, and handed to every process: they then agree on the time.
        self.clock_offset_s = (
            ShiftedClock.starting_at(config.start_at).offset.total_seconds()
            if config.start_at is not None
            else 0.0
        )

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> "Stack":
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self._claim_api_port()
        try:
            self._start_infrastructure()
            # Where the provisioner emails device profiles: files in <run-dir>/mail.
            self.mailbox = LocalMailbox(self.run_dir / "mail").start()
            self._start_tessie()
            self._start_market_feeds()
            self.api_key = self._api_key()
            self.operator_key = self._persistent_secret("operator-key")
            self.vault_key = self._vault_key()
            # The store first, until it serves HTTP: its startup migrates the database the api
            # reads, and uvicorn answers only once that ran. Then everything else side by side:
            # a service is ready (/healthz) only once its consumers joined their groups, 5-30 s
            # on the local broker, and waiting for each in turn would hold the telemetry back
            # for a minute. The producer need not wait for them: every group reads from the
            # earliest offset, so what ingest publishes meanwhile is consumed once they are in.
            self.start_service("store", wait=False)
            self.wait_answering("store", LIVEZ_PATH)
            # The printed key is the demo account's, which owns the fleet: it sees what a
            # customer's key would. The operator's key (across accounts) is in operator-key.
            self.demo_account_id = open_demo_account_sync(
                self.database_url,
                KafkaSettings(bootstrap_servers=self.bootstrap_servers),
                self.api_key,
                at=self.clock.now(),
            )
            for service in SERVICES:
                if service != "store":
                    self.start_service(service, wait=False)
            for service in SERVICES:
                self.wait_healthy(service)
            # The fleet becomes the demo account's as a customer's does: its Tessie token is
            # handed to the api, which checks it with Tessie, links the cars Tessie lists,
            # stores it sealed and publishes it.
            register_demo_token(self.api_url, self.api_key, self.tessie_token)
        except BaseException:
            self.stop()
            raise
        return self

    def _start_infrastructure(self) -> None:
        if self.config.kafka_bootstrap_servers:
            self.bootstrap_servers = self.config.kafka_bootstrap_servers
        else:
            self.kafka = LocalKafka(log_path=self.log_dir / "kafka.log").start()
            self.bootstrap_servers = self.kafka.bootstrap_servers
        if self.config.database_url:
            self.database_url = self.config.database_url
        else:
            self.postgres = LocalPostgres(
                data_dir=self.run_dir / "postgres", keep=self.config.keep_database
            ).start()
            self.database_url = self.postgres.url

    def _start_tessie(self) -> None:
        if self.config.tessie_token:
            self.tessie_base_url = self.config.tessie_base_url
            self.tessie_token = self.config.tessie_token
            return
        self.simulated = True
        self.tessie_token = secrets.token_urlsafe(24)
        self.sim_account_tokens = {
            name: secrets.token_urlsafe(24) for name, _, _ in self.config.sim_accounts
        }
        port = free_port()
        self.ports["tessie-sim"] = port
        self.tessie_base_url = f"http://127.0.0.1:{port}"
        self._spawn(
            "tessie-sim",
            [
                sys.executable,
                "-m",
                "tc_tessie_sim",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--vehicles",
                str(self.config.sim_vehicles),
                "--seed",
                str(self.config.sim_seed),
                "--sentry-share",
                str(self.config.sim_sentry_share),
                "--clock-offset-s",
                repr(self.clock_offset_s),
                *(
                    arg
                    for name, vehicles, seed in self.config.sim_accounts
                    for arg in ("--account", f"{name}:{vehicles}:{seed}")
                ),
            ],
            {
                "TESSIE_SIM_TOKEN": self.tessie_token,
                **{
                    f"TESSIE_SIM_TOKEN_{name.upper()}": token
                    for name, token in self.sim_account_tokens.items()
                },
            },
        )
        wait_for_port("127.0.0.1", port, 30)

    def _start_market_feeds(self) -> None:
        """Real market and weather APIs with an ENTSO-E token; otherwise the local fakes play
        a synthetic but realistic price, exchange-rate and weather feed."""
        if self.config.entsoe_token:
            self._market_token = self.config.entsoe_token
            return
        self._market_token = secrets.token_urlsafe(24)
        port = free_port()
        self.ports["market-fakes"] = port
        self.market_fakes_url = f"http://127.0.0.1:{port}"
        self._spawn(
            "market-fakes",
            [
                sys.executable,
                "-m",
                "tc_market_fakes",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--clock-offset-s",
                repr(self.clock_offset_s),
            ],
            {"MARKET_FAKES_ENTSOE_TOKEN": self._market_token},
        )
        wait_for_port("127.0.0.1", port, 30)

    def _api_key(self) -> str:
        """The configured key, or one generated once per run directory; either way it is in
        ``<run-dir>/api-key`` so that the README's examples and ``make plots`` can read it."""
        if not self.config.api_key:
            return self._persistent_secret("api-key")
        path = self.run_dir / "api-key"
        path.touch(mode=0o600)
        path.write_text(self.config.api_key + "\n")
        return self.config.api_key

    def _claim_api_port(self) -> None:
        wanted = self.config.api_port
        if wanted is None:
            self.ports["api"] = free_port()
        elif self._port_free(wanted):
            self.ports["api"] = wanted
        else:
            raise PortBusyError(
                f"port {wanted} for the API is in use (another make run?); stop that or choose "
                f"another port: API_PORT={wanted + 1} make run"
            )

    def _persistent_secret(self, name: str) -> str:
        path = self.run_dir / name
        if path.exists():
            return path.read_text().strip()
        value = secrets.token_urlsafe(32)
        path.touch(mode=0o600)
        path.write_text(value + "\n")
        return value

    def _vault_key(self) -> str:
        """The vault's key-encryption key (version 1) of this run directory: base64 of 32
        random bytes in ``<run-dir>/vault-key`` (mode 0600), kept so that tokens sealed on an
        earlier start still open."""
        path = self.run_dir / "vault-key"
        if path.exists():
            return path.read_text().strip()
        value = base64.b64encode(secrets.token_bytes(32)).decode()
        path.touch(mode=0o600)
        path.write_text(value + "\n")
        return value

    def _vault_env(self, prefix: str) -> dict[str, str]:
        if not self.vault_key:
            self.vault_key = self._vault_key()
        return {
            f"{prefix}_VAULT__KEYS": json.dumps({"1": self.vault_key}),
            f"{prefix}_VAULT__CURRENT_VERSION": "1",
        }

    def _provisioner_vpn_env(self) -> dict[str, str]:
        """The provisioner with its VPN part: a CA of this run directory (its keys sealed by a
        keyring of its own, kept like the vault key), profiles for a server on this machine,
        mailed to the local mailbox."""
        path = self.run_dir / "provisioner-vault-key"
        if not path.exists():
            path.touch(mode=0o600)
            path.write_text(base64.b64encode(secrets.token_bytes(32)).decode() + "\n")
        env = {
            # On the system clock whatever moment the rest plays: the certificates it signs are
            # checked by OpenVPN, and the invitations it honours issued by tc-admin, on the
            # system clock.
            "PROVISIONER_CLOCK_OFFSET_S": "0",
            "PROVISIONER_VPN__PUBLIC_HOST": "localhost",
            "PROVISIONER_VAULT__KEYS": json.dumps({"1": path.read_text().strip()}),
            "PROVISIONER_VAULT__CURRENT_VERSION": "1",
        }
        if self.mailbox is not None:
            env |= {
                "PROVISIONER_SMTP__HOST": self.mailbox.host,
                "PROVISIONER_SMTP__PORT": str(self.mailbox.port),
                "PROVISIONER_SMTP__SECURITY": "none",
                "PROVISIONER_SMTP__FROM_ADDRESS": "access@teslaconnectivity.localhost",
            }
        return env

    def _port_for(self, service: str) -> int:
        if service not in self.ports:
            self.ports[service] = free_port()
        return self.ports[service]

    def service_env(self, service: str) -> dict[str, str]:
        prefix = service.upper()
        port = self._port_for(service)
        env = {
            f"{prefix}_HTTP__HOST": "127.0.0.1",
            f"{prefix}_HTTP__PORT": str(port),
            f"{prefix}_LOG_LEVEL": self.config.log_level,
            f"{prefix}_CLOCK_OFFSET_S": repr(self.clock_offset_s),
        }
        env[f"{prefix}_KAFKA__BOOTSTRAP_SERVERS"] = self.bootstrap_servers
        if service in ("store", "api", "provisioner"):
            env[f"{prefix}_POSTGRES__URL"] = self.database_url
        if service == "provisioner":
            env.update(self._provisioner_vpn_env())
        if service == "api":
            env["API_API_KEYS"] = json.dumps([self.operator_key])
            env["API_TESSIE_BASE_URL"] = self.tessie_base_url
            env.update(self._vault_env("API"))
        if service == "ingest":
            # No token of its own: ingest polls the fleet with the demo account's token, as it
            # polls every customer's, once the api has registered it. The same keyring as the
            # api's: ingest opens the tokens the api sealed.
            env["INGEST_TESSIE__BASE_URL"] = self.tessie_base_url
            env.update(self._vault_env("INGEST"))
            env["INGEST_POLL_INTERVAL_S"] = str(self.config.poll_interval_s)
            env["INGEST_MARKET__ENTSOE_TOKEN"] = self._market_token
            if self.market_fakes_url:
                fakes = self.market_fakes_url
                env["INGEST_MARKET__ENTSOE_BASE_URL"] = f"{fakes}/entsoe/api"
                env["INGEST_MARKET__HVAKOSTERSTROMMEN_BASE_URL"] = f"{fakes}/hvakosterstrommen"
                env["INGEST_MARKET__NORGESBANK_BASE_URL"] = f"{fakes}/norgesbank"
                env["INGEST_WEATHER__MET_BASE_URL"] = f"{fakes}/met"
        env.update({k: v for k, v in self.config.extra_env.items() if k.startswith(prefix + "_")})
        return env

    @staticmethod
    def _port_free(port: int) -> bool:
        import socket

        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                return False
            return True

    def start_service(self, service: str, wait: bool = True) -> None:
        env = self.service_env(service)
        self._spawn(service, [sys.executable, "-m", f"tc_{service}"], env)
        if wait:
            self.wait_healthy(service)

    def wait_healthy(self, service: str, timeout_s: float = 90.0) -> None:
        self.wait_answering(service, "/healthz", timeout_s)

    def wait_answering(self, service: str, path: str, timeout_s: float = 90.0) -> None:
        """Until ``path`` of ``service`` answers 2xx; raises when it exits or time runs out."""
        url = f"http://127.0.0.1:{self.ports[service]}{path}"
        deadline = time.monotonic() + timeout_s
        proc = self.processes[service]
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(
                    f"{service} exited with {proc.returncode}; see {self.log_dir / service}.log"
                )
            try:
                if httpx.get(url, timeout=2.0).status_code < 300:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        raise TimeoutError(f"{service}: {path} not 2xx after {timeout_s}s; see its log")

    def _spawn(self, name: str, cmd: list[str], env: dict[str, str]) -> None:
        logfile = open(self.log_dir / f"{name}.log", "ab")  # noqa: SIM115 - owned by the child
        self.processes[name] = subprocess.Popen(
            cmd,
            env={**os.environ, **env},
            stdout=logfile,
            stderr=subprocess.STDOUT,
            # Own session: Ctrl-C reaches only the orchestrator, which stops children in order.
            start_new_session=True,
        )
        logfile.close()

    def stop_service(self, name: str, sig: int = signal.SIGTERM, timeout_s: float = 20.0) -> None:
        proc = self.processes.pop(name, None)
        if proc is None or proc.poll() is not None:
            return
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()

    def stop(self) -> None:
        # The producer first, then consumers, so in-flight samples are stored before shutdown.
        # try/finally: a service that fails to stop must not leave the database or the broker
        # running behind it (a leaked postmaster outlives the test run).
        try:
            for name in (
                "ingest",
                "tessie-sim",
                "market-fakes",
                *[s for s in SERVICES if s != "ingest"],
            ):
                self.stop_service(name)
            for name in list(self.processes):
                self.stop_service(name)
        finally:
            try:
                if self.mailbox is not None:
                    self.mailbox.stop()
                    self.mailbox = None
                if self.postgres is not None:
                    self.postgres.stop()
                    self.postgres = None
            finally:
                if self.kafka is not None:
                    self.kafka.stop()
                    self.kafka = None

    def __enter__(self) -> "Stack":
        return self.start()

    def __exit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def clock(self) -> Clock:
        """The clock every process of this stack runs on."""
        return system_or_shifted(self.clock_offset_s)

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.ports['api']}"

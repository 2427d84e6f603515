"""A throwaway PostgreSQL cluster, started with the server binaries Debian installs.

``initdb`` refuses to run as root, and CI runs as root: in that case every server command runs
as the ``postgres`` system user (through ``runuser``), and the data directory is handed to it.
"""

import os
import pwd
import shutil
import signal
import stat
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType

import psycopg

from tc_devstack.net import free_port, wait_for_port


def find_pg_bin() -> Path:
    """The directory holding initdb and pg_ctl (newest installed major version first)."""
    if env := os.environ.get("PG_BIN"):
        return Path(env)
    for version in range(20, 14, -1):
        candidate = Path(f"/usr/lib/postgresql/{version}/bin")
        if (candidate / "initdb").exists():
            return candidate
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent
    raise FileNotFoundError(
        "PostgreSQL server binaries (initdb, pg_ctl) not found: install Debian's "
        "postgresql package or set PG_BIN"
    )


def has_timescaledb(pg_bin: Path) -> bool:
    """Whether the installation owning ``pg_bin`` ships the timescaledb extension.

    Asks that installation's own ``pg_config``: a relocated copy (``PG_BIN=/opt/...``) has its
    own share directory, distinct from the system one.
    """
    pg_config = pg_bin / "pg_config"
    if not pg_config.exists():
        return False
    result = subprocess.run([str(pg_config), "--sharedir"], capture_output=True, text=True)
    if result.returncode != 0:
        return False
    return (Path(result.stdout.strip()) / "extension" / "timescaledb.control").exists()


class LocalPostgres:
    """A PostgreSQL cluster in ``data_dir`` (a fresh temporary directory by default).

    With ``keep=True`` and an existing ``data_dir`` the cluster is reused across runs, which
    is what ``make run`` wants; tests use a fresh one and delete it.
    """

    user = "tc"
    password = "tc-local-dev"  # a loopback-only throwaway cluster
    dbname = "teslaconnectivity"

    def __init__(
        self, data_dir: Path | None = None, port: int | None = None, keep: bool = False
    ) -> None:
        self._tmp = None if data_dir else tempfile.mkdtemp(prefix="tc-pg-")
        self.base = Path(data_dir) if data_dir else Path(self._tmp or "")
        self.data_dir = self.base / "data"
        self.socket_dir = self.base / "sock"
        self.port = port or free_port()
        self.keep = keep
        self.bin = find_pg_bin()
        self._as_postgres = os.geteuid() == 0

    @property
    def url(self) -> str:
        return f"postgresql://{self.user}:{self.password}@127.0.0.1:{self.port}/{self.dbname}"

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[bytes]:
        cmd = list(args)
        if self._as_postgres:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        return subprocess.run(cmd, check=check, capture_output=True)

    def _chown(self, path: Path) -> None:
        if self._as_postgres:
            pw = pwd.getpwnam("postgres")
            os.chown(path, pw.pw_uid, pw.pw_gid)

    def _let_postgres_reach_base(self) -> None:
        """The ``postgres`` user must be able to traverse every ancestor of the data directory.

        Temporary directories made by and for root (pytest's, mkdtemp's) are 0700; grant
        search-only permission (``o+x``: enter, not list) on just those ancestors.
        """
        if not self._as_postgres:
            return
        for parent in [self.base.resolve(), *self.base.resolve().parents]:
            mode = parent.stat().st_mode
            if not mode & stat.S_IXOTH:
                os.chmod(parent, mode | stat.S_IXOTH)

    def start(self) -> "LocalPostgres":
        self.base.mkdir(parents=True, exist_ok=True)
        self._let_postgres_reach_base()
        self._chown(self.base)
        self.socket_dir.mkdir(exist_ok=True)
        self._chown(self.socket_dir)
        fresh = not (self.data_dir / "PG_VERSION").exists()
        if fresh:
            pwfile = self.base / "pwfile"
            pwfile.write_text(self.password + "\n")
            self._chown(pwfile)
            try:
                self._run(
                    str(self.bin / "initdb"),
                    "-D",
                    str(self.data_dir),
                    "-U",
                    self.user,
                    "--pwfile",
                    str(pwfile),
                    "--auth=scram-sha-256",
                    "--encoding=UTF8",
                    "--locale=C",
                )
            finally:
                pwfile.unlink(missing_ok=True)
        log = self.base / "postgres.log"
        # TimescaleDB refuses CREATE EXTENSION unless preloaded; telemetry off because the
        # server must not phone home from a test machine. A plain install gets neither flag.
        timescale = (
            " -c shared_preload_libraries=timescaledb -c timescaledb.telemetry_level=off"
            if has_timescaledb(self.bin)
            else ""
        )
        result = self._run(
            str(self.bin / "pg_ctl"),
            "-D",
            str(self.data_dir),
            "-l",
            str(log),
            "-w",
            "-t",
            "60",
            "-o",
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.socket_dir} "
            f"-c fsync=on -c max_connections=200{timescale}",
            "start",
            check=False,
        )
        if result.returncode != 0:
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise RuntimeError(f"pg_ctl start failed: {result.stderr.decode()}\n{tail}")
        wait_for_port("127.0.0.1", self.port, 30)
        if fresh:
            with psycopg.connect(self.url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "{self.dbname}"')
        return self

    def stop(self) -> None:
        pid_file = self.data_dir / "postmaster.pid"
        if pid_file.exists():
            result = self._run(
                str(self.bin / "pg_ctl"),
                "-D",
                str(self.data_dir),
                "-m",
                "fast",
                "-w",
                "stop",
                check=False,
            )
            if result.returncode != 0:
                self._kill_postmaster(pid_file)
        if self._tmp and not self.keep:
            shutil.rmtree(self._tmp, ignore_errors=True)

    def _kill_postmaster(self, pid_file: Path) -> None:
        """pg_ctl could not stop the server: signal the postmaster directly (SIGINT is
        PostgreSQL's fast shutdown), then SIGKILL, so no throwaway cluster outlives its run."""
        try:
            pid = int(pid_file.read_text().splitlines()[0])
        except (OSError, ValueError, IndexError):
            return
        for sig in (signal.SIGINT, signal.SIGKILL):
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                return
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                try:
                    os.kill(pid, 0)
                except ProcessLookupError:
                    return
                time.sleep(0.1)

    def __enter__(self) -> "LocalPostgres":
        return self.start()

    def __exit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

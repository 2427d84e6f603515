"""Serving a fake provider's uvicorn server: in a background thread for tests, or in the
foreground until SIGTERM/SIGINT for ``python -m``.

The Tessie simulator and the market fakes share this harness. The server is typed by what is
used of ``uvicorn.Server`` so that the dev stack itself does not depend on uvicorn.
"""

import argparse
import os
import signal
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from types import FrameType
from typing import Protocol

from tc_common.clock import Clock, ShiftedClock, system_or_shifted

START_TIMEOUT_S = 15.0
STOP_TIMEOUT_S = 15.0


class UvicornServer(Protocol):
    """The parts of ``uvicorn.Server`` the harness drives."""

    started: bool
    should_exit: bool

    def run(self, sockets: list[socket.socket] | None = None) -> None: ...


def bind_socket(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port`` (port 0: a free one), IPv6 when ``host`` is."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    return sock


@contextmanager
def serving_in_thread(server: UvicornServer, host: str, name: str) -> Iterator[str]:
    """Serve on a free port of ``host`` in a daemon thread; yields the base URL once started.

    ``name`` names the thread and, should the server not come up, the error.
    """
    sock = bind_socket(host, 0)
    port = sock.getsockname()[1]
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name=name, daemon=True)
    thread.start()
    deadline = time.monotonic() + START_TIMEOUT_S
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            sock.close()
            raise RuntimeError(f"the {name} server did not start")
        time.sleep(0.01)
    try:
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=STOP_TIMEOUT_S)
        sock.close()


def add_server_arguments(
    parser: argparse.ArgumentParser, *, port: int, token_env: str, token_help: str
) -> None:
    """``--host``, ``--port``, ``--token`` (default: ``$<token_env>``) and the clock's
    ``--clock-offset-s`` / ``--start-at`` for a fake's CLI; ``clock_of(args)`` reads the clock."""
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=port)
    parser.add_argument(
        "--token", default=os.environ.get(token_env), help=f"{token_help} (default: ${token_env})"
    )
    when = parser.add_mutually_exclusive_group()
    when.add_argument(
        "--clock-offset-s",
        type=float,
        default=0.0,
        help="run this many seconds ahead of the system clock (negative: behind); the dev stack "
        "passes the same offset to every process so they all play one moment",
    )
    when.add_argument(
        "--start-at",
        type=_aware_datetime,
        default=None,
        help="play time from this ISO-8601 instant with a UTC offset, e.g. 2026-12-09T07:30+01:00",
    )


def _aware_datetime(text: str) -> datetime:
    try:
        at = datetime.fromisoformat(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"not an ISO-8601 instant: {text!r}") from error
    if at.tzinfo is None:
        raise argparse.ArgumentTypeError(f"{text!r} needs a UTC offset, e.g. +01:00 or Z")
    return at


def clock_of(args: argparse.Namespace) -> Clock:
    """The clock ``add_server_arguments``' options ask for: system, shifted, or started at."""
    if args.start_at is not None:
        return ShiftedClock.starting_at(args.start_at)
    return system_or_shifted(args.clock_offset_s)


def serve_until_signalled(server: UvicornServer, host: str, port: int, announce: str) -> int:
    """Serve on ``host:port`` until SIGTERM/SIGINT; returns the exit status (0).

    Prints ``<announce> listening on http://host:port`` once the socket is bound.
    """
    # Bind before announcing, so whoever waits for the line (or the port) can connect at once.
    sock = bind_socket(host, port)
    shown_host = f"[{host}]" if ":" in host else host
    print(f"{announce} listening on http://{shown_host}:{sock.getsockname()[1]}", flush=True)  # noqa: T201

    def stop(_signum: int, _frame: FrameType | None) -> None:
        server.should_exit = True

    # uvicorn shuts down gracefully on SIGTERM/SIGINT, then re-raises the signal to whatever
    # handler was there before; with ours in place that ends in a clean exit status 0.
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
    return 0

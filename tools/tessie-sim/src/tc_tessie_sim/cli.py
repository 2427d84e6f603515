"""``python -m tc_tessie_sim``: serve a simulated fleet until SIGTERM/SIGINT."""

from __future__ import annotations

import argparse
import os
import signal
import sys
from types import FrameType

from tc_tessie_sim.server import Simulator, bind_socket, server_for


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tc_tessie_sim", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8900)
    parser.add_argument(
        "--token",
        default=os.environ.get("TESSIE_SIM_TOKEN"),
        help="access token clients must send (default: $TESSIE_SIM_TOKEN)",
    )
    parser.add_argument("--vehicles", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--sentry-share", type=float, default=1.0)
    parser.add_argument(
        "--sentry-everywhere",
        action="store_true",
        help="sentry cars keep sentry on away from home too, so they never sleep "
        "(a lively demo fleet whose telemetry grows at any hour)",
    )
    args = parser.parse_args(argv)
    if not args.token:
        parser.error("a token is required: --token or TESSIE_SIM_TOKEN")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    sim = Simulator.for_fleet(
        args.token,
        args.vehicles,
        args.seed,
        args.sentry_share,
        sentry_everywhere=args.sentry_everywhere,
    )
    # Bind before announcing, so whoever waits for the line (or the port) can connect at once.
    sock = bind_socket(args.host, args.port)
    host = f"[{args.host}]" if ":" in args.host else args.host
    print(f"tessie simulator listening on http://{host}:{sock.getsockname()[1]}", flush=True)  # noqa: T201
    server = server_for(sim)

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


if __name__ == "__main__":
    sys.exit(main())

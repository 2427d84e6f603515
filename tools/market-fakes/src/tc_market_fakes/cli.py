"""``python -m tc_market_fakes``: serve the price, FX and weather fakes until SIGTERM/SIGINT."""

from __future__ import annotations

import argparse
import os
import signal
import sys
from types import FrameType

from tc_market_fakes.server import bind_socket, build_fakes, server_for


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tc_market_fakes", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8910)
    parser.add_argument(
        "--token",
        default=os.environ.get("MARKET_FAKES_ENTSOE_TOKEN"),
        help="ENTSO-E securityToken clients must send (default: $MARKET_FAKES_ENTSOE_TOKEN)",
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--publication-cet",
        default="12:45",
        help="HH:MM CET/CEST on the day before when a delivery day's prices appear",
    )
    parser.add_argument(
        "--publication-jitter-min",
        type=int,
        default=15,
        help="publication is up to this many minutes later, drawn per day",
    )
    args = parser.parse_args(argv)
    if not args.token:
        parser.error("a token is required: --token or MARKET_FAKES_ENTSOE_TOKEN")
    try:
        hours, minutes = (int(x) for x in args.publication_cet.split(":"))
        if not (0 <= hours < 24 and 0 <= minutes < 60):
            raise ValueError
    except ValueError:
        parser.error("--publication-cet must be HH:MM")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    fakes = build_fakes(
        args.token,
        args.seed,
        publication_cet=args.publication_cet,
        publication_jitter_min=args.publication_jitter_min,
    )
    # Bind before announcing, so whoever waits for the line (or the port) can connect at once.
    sock = bind_socket(args.host, args.port)
    host = f"[{args.host}]" if ":" in args.host else args.host
    print(f"market fakes listening on http://{host}:{sock.getsockname()[1]}", flush=True)  # noqa: T201
    server = server_for(fakes)

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

"""``python -m tc_market_fakes``: serve the price, FX and weather fakes until SIGTERM/SIGINT."""

from __future__ import annotations

import argparse
import sys

from tc_devstack.http_server import add_server_arguments, clock_of, serve_until_signalled
from tc_market_fakes.server import build_fakes, server_for


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tc_market_fakes", description=__doc__)
    add_server_arguments(
        parser,
        port=8910,
        token_env="MARKET_FAKES_ENTSOE_TOKEN",
        token_help="ENTSO-E securityToken clients must send",
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
        now=clock_of(args),
        publication_cet=args.publication_cet,
        publication_jitter_min=args.publication_jitter_min,
    )
    return serve_until_signalled(server_for(fakes), args.host, args.port, "market fakes")


if __name__ == "__main__":
    sys.exit(main())

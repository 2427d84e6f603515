"""``python -m tc_tessie_sim``: serve a simulated fleet until SIGTERM/SIGINT."""

from __future__ import annotations

import argparse
import os
import sys

from tc_devstack.http_server import add_server_arguments, clock_of, serve_until_signalled
from tc_tessie_sim.server import Simulator, server_for


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tc_tessie_sim", description=__doc__)
    add_server_arguments(
        parser, port=8900, token_env="TESSIE_SIM_TOKEN", token_help="access token clients must send"
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
    parser.add_argument(
        "--account",
        action="append",
        default=[],
        metavar="NAME:VEHICLES:SEED",
        help="serve another Tessie account with a fleet of its own (repeatable); its token is "
        "read from the environment variable TESSIE_SIM_TOKEN_<NAME> (upper case), never from "
        "the command line",
    )
    args = parser.parse_args(argv)
    args.accounts = [_account_of(parser, spec) for spec in args.account]
    if not args.token:
        parser.error("a token is required: --token or TESSIE_SIM_TOKEN")
    return args


def _account_of(parser: argparse.ArgumentParser, spec: str) -> tuple[str, str, int, int]:
    parts = spec.split(":")
    if len(parts) != 3 or not parts[0] or not all(p.isdigit() for p in parts[1:]):
        parser.error(f"--account {spec!r}: expected NAME:VEHICLES:SEED")
    name, vehicles, seed = parts[0], int(parts[1]), int(parts[2])
    variable = f"TESSIE_SIM_TOKEN_{name.upper()}"
    token = os.environ.get(variable, "")
    if not token:
        parser.error(f"--account {name}: set its token in {variable}")
    return name, token, vehicles, seed


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    sim = Simulator.for_fleet(
        args.token,
        args.vehicles,
        args.seed,
        args.sentry_share,
        now=clock_of(args),
        sentry_everywhere=args.sentry_everywhere,
    )
    for name, token, vehicles, seed in args.accounts:
        sim.add_account(
            name,
            token,
            vehicles,
            seed,
            args.sentry_share,
            sentry_everywhere=args.sentry_everywhere,
        )
    return serve_until_signalled(server_for(sim), args.host, args.port, "tessie simulator")


if __name__ == "__main__":
    sys.exit(main())

"""``make run``: the whole system on embedded defaults, until Ctrl-C."""

import argparse
import signal
import sys
import time
from pathlib import Path
from types import FrameType

from tc_devstack.stack import Stack, StackConfig


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--run-dir",
        type=Path,
        default=Path(".run"),
        help="where the local database, logs and the API key live",
    )
    args = parser.parse_args(argv)
    config = StackConfig.from_environment(args.run_dir.resolve())
    # A plain flag: the handler may interrupt the main thread anywhere, and threading.Event
    # takes a lock that the interrupted code may already hold (a second Ctrl-C deadlocked it).
    stop_requested: list[int] = []

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        stop_requested.append(signum)

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    print("starting teslaconnectivity: broker, PostgreSQL, Tessie, five services ...", flush=True)
    stack = Stack(config)
    try:
        stack.start()
    except Exception as error:
        print(f"start failed: {error}", file=sys.stderr)
        return 1
    try:
        tessie = (
            f"simulated fleet at {stack.tessie_base_url}"
            if stack.simulated
            else "the real Tessie API"
        )
        key_file = config.run_dir / "api-key"
        market = (
            f"simulated prices, rates and weather at {stack.market_fakes_url}"
            if stack.market_fakes_url
            else "ENTSO-E, Norges Bank and MET Norway"
        )
        print(
            "\nteslaconnectivity is running\n"
            f"  API           {stack.api_url}   (docs: {stack.api_url}/docs)\n"
            f"  API key       {stack.api_key}   (header X-API-Key; stored in {key_file})\n"
            f"                the demo account's ({stack.demo_account_id}): it owns the fleet\n"
            f"  operator key  sees every account; stored in {config.run_dir / 'operator-key'}\n"
            f"  try           curl -H 'X-API-Key: {stack.api_key}' {stack.api_url}/v1/vehicles\n"
            f"  Kafka         {stack.bootstrap_servers}\n"
            f"  PostgreSQL    {stack.database_url.split('@')[-1]}\n"
            f"  Tessie        {tessie}\n"
            f"  market data   {market}\n"
            f"{_clock_line(config)}"
            f"  logs          {stack.log_dir}/\n"
            "Press Ctrl-C to stop.",
            flush=True,
        )
        while not stop_requested:
            time.sleep(0.5)
            for name, proc in list(stack.processes.items()):
                if proc.poll() is not None:
                    print(f"{name} exited with {proc.returncode}; stopping (see logs)", flush=True)
                    stop_requested.append(0)
        return 0
    finally:
        print("stopping ...", flush=True)
        stack.stop()
        print("stopped.", flush=True)


def _clock_line(config: StackConfig) -> str:
    if config.start_at is None:
        return ""
    return f"  clock         simulated, started at {config.start_at.isoformat()} (SIM_START_AT)\n"


if __name__ == "__main__":
    raise SystemExit(main())

"""The planner benchmark's command line on tiny synthetic sessions and prices."""

import json
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
import pytest

from tc_forecast.bench_planner import Session, behaviour_holidays, main
from tc_forecast.domain.prices.synthetic import synthetic_market

DAYS = 40


def write_prices(path: Path) -> pd.DataFrame:
    frame = synthetic_market(days=DAYS)
    # A deep night valley and an evening peak: waiting pays, and the oracle knows it best.
    frame["price"] += [
        25.0 if 17 <= t.hour <= 20 else -15.0 if t.hour <= 4 else 0.0 for t in frame.index
    ]
    out = pd.DataFrame(
        {
            "Price_DA": frame["price"].round(2),
            "Load_DA": frame["load"].round(0),
            "Won_DA": frame["wind"].round(0),
        },
        index=[f"{t.month}/{t.day}/{t.year} {t.hour}:{t.minute:02d}" for t in frame.index],
    )
    out.to_csv(path)
    return frame


def write_sessions(path: Path, first_day: datetime, nights: int) -> None:
    """One commuter plugging in at 17:00 and leaving at 07:00, plus one session with no plug-out."""
    rows = []
    for i in range(nights):
        start = first_day + timedelta(days=i, hours=17)
        end = start + timedelta(hours=14)
        rows.append(
            (i + 1, "U1", start.strftime("%d.%m.%Y %H:%M"), end.strftime("%d.%m.%Y %H:%M"), "10,5")
        )
    rows.append(
        (
            nights + 1,
            "U1",
            (first_day + timedelta(days=nights, hours=17)).strftime("%d.%m.%Y %H:%M"),
            "",
            "8,0",
        )
    )
    lines = ["session_ID;User_ID;Start_plugin;End_plugout;El_kWh"]
    lines += [";".join(str(x) for x in r) for r in rows]
    path.write_text("\n".join(lines) + "\n")


def test_cli_replays_sessions_and_prints_the_figures_as_json_on_the_last_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    prices = tmp_path / "NO_9.csv"
    frame = write_prices(prices)
    sessions = tmp_path / "sessions.csv"
    first_day = frame.index[0].to_pydatetime() + timedelta(days=DAYS - 10)
    write_sessions(sessions, first_day, nights=7)
    plot = tmp_path / "planner.png"
    code = main(
        [
            *("--sessions", str(sessions), "--prices", str(prices), "--plot", str(plot)),
            *("--windows", "21", "--band-warmup-days", "2", "--jobs", "1", "--no-cache"),
            *("--risk-target", "0.9"),
        ]
    )
    assert code == 0
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert report["sessions"]["replayed"] == 7
    assert report["sessions"]["dropped_without_plugout"] == 1
    assert set(report["departure"]) >= {
        "mae_h",
        "baseline_mae_h",
        "improvement_pct",
        "p10_p90_coverage",
    }
    cost = report["cost"]
    assert cost["currency"] == "EUR"
    # Waiting for the night pays off; nobody beats the oracle, and nothing is left short.
    assert cost["oracle"] <= cost["planner"] < cost["at_once"]
    assert report["sessions_short_share"] == 0.0
    assert 0.0 < report["captured_share_of_oracle_saving"] <= 1.0
    assert report["oracle_saving_pct"] > 0.0
    assert report["config"]["shift_weeks"] == 0
    assert report["wall_time_s"] > 0
    assert plot.exists()


def small_replay(tmp_path: Path, *, days_before_end: int, nights: int) -> list[str]:
    """CLI arguments for a quick replay of ``nights`` synthetic nights near the prices' end."""
    prices = tmp_path / "NO_9.csv"
    frame = write_prices(prices)
    sessions = tmp_path / "sessions.csv"
    first_day = frame.index[0].to_pydatetime() + timedelta(days=DAYS - days_before_end)
    write_sessions(sessions, first_day, nights=nights)
    args = ["--sessions", str(sessions), "--prices", str(prices), "--plot", str(tmp_path / "p.png")]
    return [*args, "--windows", "21", "--band-warmup-days", "2", "--jobs", "1", "--no-cache"]


def test_cli_shifts_sessions_by_whole_weeks(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = small_replay(tmp_path, days_before_end=17, nights=3)
    assert main([*args, "--shift-weeks", "1"]) == 0
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert report["config"]["shift_weeks"] == 1
    assert report["sessions"]["replayed"] == 3
    assert report["cost"]["oracle"] <= report["cost"]["planner"] <= report["cost"]["at_once"]


def test_cli_without_the_data_files_says_where_to_get_them_and_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["--sessions", str(tmp_path / "missing.csv"), "--prices", str(tmp_path / "x.csv")])
    assert code == 2
    assert "ev-sessions-trondheim" in capsys.readouterr().err


def test_cli_recalibrates_the_risk_per_user_when_asked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = small_replay(tmp_path, days_before_end=10, nights=7)
    assert main([*args, "--calibration-prior-points", "5"]) == 0
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert report["config"]["calibration_prior_points"] == 5.0
    assert report["sessions_short_share"] == 0.0
    assert report["cost"]["oracle"] <= report["cost"]["planner"] < report["cost"]["at_once"]


def test_public_holidays_move_with_the_sessions_they_belong_to() -> None:
    # The sessions were lived in 2019 and replayed 156 weeks later: Constitution Day (17 May
    # 2019, a Friday) is still a day off on that Friday, 2022's 17 May (a Tuesday) is not.
    shift = timedelta(weeks=156)
    start = datetime(2019, 5, 16, 17, 0, tzinfo=ZoneInfo("Europe/Oslo")) + shift
    lived = Session("u", 0.0, 14.0, start, start + timedelta(hours=14), 10.0)
    days_off = behaviour_holidays("NO", [lived], 156)
    assert date(2019, 5, 17) + shift == date(2022, 5, 13)
    assert date(2022, 5, 13) in days_off
    assert date(2022, 5, 17) not in days_off
    assert behaviour_holidays("none", [lived], 156) == frozenset()


def test_cli_what_if_owners_schedule_their_departures(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = small_replay(tmp_path, days_before_end=10, nights=7)

    def replay(*extra: str) -> dict[str, Any]:
        assert main([*args, *extra]) == 0
        report: dict[str, Any] = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
        return report

    learned = replay()
    scheduled = replay("--scheduled-share", "1")
    assert scheduled["config"]["scheduled_share"] == 1.0
    assert scheduled["config"]["scheduled_margin_min"] == 15.0
    # The owner's word lets the planner wait for the cheapest hours right up to the departure.
    assert scheduled["cost"]["planner"] <= learned["cost"]["planner"]
    assert scheduled["sessions_short_share"] == 0.0
    assert scheduled["captured_share_of_oracle_saving"] >= 0.9
    with pytest.raises(SystemExit) as refused:
        main([*args, "--scheduled-share", "1.5"])
    assert refused.value.code == 2
    assert "--scheduled-share must be in [0, 1]" in capsys.readouterr().err

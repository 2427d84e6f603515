import json
from pathlib import Path

import pandas as pd
import pytest

from tc_forecast.bench_prices import main
from tc_forecast.domain.prices.synthetic import synthetic_market


def write_epftoolbox_csv(frame: pd.DataFrame, path: str) -> None:
    out = frame.rename(
        columns={"price": " Price", "load": " Grid load forecast", "wind": " Wind power forecast"}
    )
    out.index = out.index.strftime("%Y-%m-%d %H:%M:%S")
    out.to_csv(path)


def write_entsoe_zone_csv(frame: pd.DataFrame, path: str) -> None:
    out = pd.DataFrame(
        {
            "Price_DA": frame["price"].round(2),
            "Load_DA": frame["load"].round(0),
            "Load_AC": frame["load"].round(0),
            "Gen_SC": 0,
            "Sol_DA": 0,
            "Won_DA": frame["wind"].round(0),
        },
        index=[f"{t.month}/{t.day}/{t.year} {t.hour}:{t.minute:02d}" for t in frame.index],
    )
    out.iloc[5, out.columns.get_loc("Load_DA")] = 0  # a "missing" fundamental
    out.to_csv(path)


FAST = [
    *("--test-days", "4", "--windows", "21,40", "--gbm-window", "60", "--jobs", "1"),
    *("--gbm-rounds", "40", "--gbm-every", "28", "--alpha-every", "28"),
]


def _last_json(out: str) -> dict[str, object]:
    return json.loads(out.strip().splitlines()[-1])


def test_cli_on_an_epftoolbox_file_prints_metrics_as_json_on_the_last_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "market.csv"
    write_epftoolbox_csv(synthetic_market(days=90), str(data))
    plot = tmp_path / "p.png"
    code = main(["--data", str(data), "--format", "epftoolbox", "--plot", str(plot), *FAST])
    assert code == 0
    report = _last_json(capsys.readouterr().out)
    metrics = report["metrics"]
    assert isinstance(metrics, dict)
    assert set(metrics) == {"mae", "smape_pct", "rmse", "rmae"}
    assert 0 < metrics["mae"] < report["naive_weekly"]["mae"]  # type: ignore[index]
    assert report["config"]["test_days"] == 4  # type: ignore[index]
    assert plot.exists()


def test_cli_on_an_entsoe_zone_file_with_horizon_reports_quantile_coverage(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "NO_9.csv"
    write_entsoe_zone_csv(synthetic_market(days=100), str(data))
    code = main(
        [
            "--data",
            str(data),
            "--format",
            "entsoe-zone",
            "--horizon-days",
            "2",
            "--plot",
            str(tmp_path / "p.png"),
            *FAST,
        ]
    )
    assert code == 0
    report = _last_json(capsys.readouterr().out)
    assert report["exogenous"] == ["load_da", "wind_da"]
    assert set(report["per_horizon"]) == {"d+0", "d+1"}  # type: ignore[arg-type]
    quantiles = report["quantiles"]["all"]  # type: ignore[index]
    assert 0.0 <= quantiles["coverage_p10_p90"] <= 1.0
    assert quantiles["pinball_mean"] > 0


def test_cli_without_the_data_file_says_where_to_get_it_and_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["--data", str(tmp_path / "missing.csv")])
    assert code == 2
    assert "../shared/data/epftoolbox-np/NP.csv" in capsys.readouterr().err

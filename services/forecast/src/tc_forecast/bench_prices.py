"""Day-ahead (and up to 7-day) price forecasting benchmark on a market file.

    python -m tc_forecast.bench_prices --data ../shared/data/epftoolbox-np/NP.csv \
        --format epftoolbox

Each test day is forecast from what was known before it (prices up to the previous day, the
day's own load/wind forecasts); the models are recalibrated every day. Progress goes to
stderr; the last line of stdout is one JSON object with every figure.
"""

import argparse
import json
import math
import multiprocessing
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from tc_forecast.domain.prices import metrics
from tc_forecast.domain.prices.ensemble import (
    QUANTILES,
    EnsembleConfig,
    calibrate,
    combine,
    first_origin,
    predict_members,
)
from tc_forecast.domain.prices.features import DailyMarket
from tc_forecast.domain.prices.frames import daily_market
from tc_forecast.domain.prices.naive_blend import BLEND_MEMORY_DAYS, blend, model_weight
from tc_forecast.domain.prices.quantiles import origin_scaler, quantile_band, transformed_residual

PUBLISHED_NP = {
    "DNN Ensemble (paper 2020-06)": {"mae": 1.667, "smape_pct": 4.85, "rmse": 3.333, "rmae": 0.403},
    "LEAR Ensemble": {"mae": 1.738, "smape_pct": 5.01, "rmse": 3.362, "rmae": 0.420},
    "weekly naive": {"mae": 4.125, "smape_pct": 11.66, "rmse": 7.012, "rmae": 1.000},
}
DATA_HINT = (
    "NP.csv is the epftoolbox benchmark file: ../shared/data/epftoolbox-np/NP.csv "
    "(or jeslago/epftoolbox, Zenodo 4624805); zone files (entsoe-zone layout) are in "
    "../shared/data/nordic-prices-2015-2023/ (Kasra-Aliyon/Deepforkit data/, CC0)."
)
RESIDUAL_MEMORY_DAYS = 182
# Days forecast before the test period only to collect residuals for the bands: 56 days of
# errors give steadier tails than 28 (NO1, 7 days ahead: p10-p90 coverage 0.76 vs 0.72).
WARMUP_DAYS = 56


def load_market(path: Path, fmt: str) -> tuple[DailyMarket, pd.DatetimeIndex, list[str]]:
    """Read a market file of either layout into daily arrays."""
    if fmt == "epftoolbox":
        raw = pd.read_csv(path, index_col=0)
        raw.columns = [c.strip() for c in raw.columns]
        raw.index = pd.to_datetime(raw.index)
        frame = raw.rename(columns={raw.columns[0]: "price"})
    else:
        raw = pd.read_csv(path, index_col=0)
        raw.index = pd.to_datetime(raw.index, format="%m/%d/%Y %H:%M")
        exog = pd.DataFrame(index=raw.index)
        if "Load_DA" in raw:
            exog["load_da"] = raw["Load_DA"].where(raw["Load_DA"] != 0)
        wind = [c for c in ("Won_DA", "Woff_DA") if c in raw]
        if wind:
            parts = raw[wind].where(raw[wind] != 0)
            exog["wind_da"] = parts.sum(axis=1, min_count=1)
        # A series missing most of the time carries no usable signal (e.g. no wind in a zone).
        exog = exog.loc[:, exog.notna().mean() > 0.8]
        frame = pd.concat([raw["Price_DA"].rename("price"), exog], axis=1)
    frame = frame[~frame.index.duplicated(keep="first")].sort_index()
    start = frame.index[0].normalize()
    if frame.index[0] != start:
        start += pd.Timedelta(days=1)
    end = frame.index[-1].normalize() - pd.Timedelta(hours=1)
    if frame.index[-1].hour == 23:
        end = frame.index[-1]
    frame = frame.reindex(pd.date_range(start, end, freq="1h"))
    frame["price"] = frame["price"].interpolate(limit_area="inside")
    market, dates = daily_market(frame)
    return market, dates, [c for c in frame.columns if c != "price"]


def _run_chunk(
    market: DailyMarket, origins: list[int], horizon: int, config: EnsembleConfig
) -> dict[int, dict[str, np.ndarray]]:
    """Forecast days ``origin + k`` (k < horizon) for consecutive origins; one process."""
    cals = [None] * horizon
    out: dict[int, dict[str, np.ndarray]] = {}
    for origin in origins:
        per_origin: dict[str, np.ndarray] = {}
        for k in range(horizon):
            cals[k] = calibrate(market, origin, config, cals[k], horizon_days=k)  # type: ignore[call-overload]
            members = predict_members(cals[k], market, origin)  # type: ignore[arg-type]
            per_origin[f"point{k}"] = combine(members, config)
            for name, value in members.items():
                per_origin[f"{name}@{k}"] = value
        out[origin] = per_origin
    return out


def _run_chunks(
    market: DailyMarket,
    chunks: list[list[int]],
    horizon: int,
    config: EnsembleConfig,
    jobs: int,
) -> Iterator[dict[int, dict[str, np.ndarray]]]:
    """Chunk results as they complete; in this process when ``jobs`` is 1.

    Worker processes are spawned, not forked: forking a process whose LightGBM (OpenMP)
    threads already ran can deadlock the child.
    """
    if jobs <= 1:
        for chunk in chunks:
            yield _run_chunk(market, chunk, horizon, config)
        return
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
        futures = [pool.submit(_run_chunk, market, c, horizon, config) for c in chunks]
        for fut in as_completed(futures):
            yield fut.result()


def _blend_with_naive(
    market: DailyMarket,
    results: dict[int, dict[str, np.ndarray]],
    all_origins: list[int],
    horizon: int,
) -> dict[str, Any]:
    """Replace ``point{k}`` (k >= 1) by its blend with the weekly naive, each origin's weight
    chosen on the earlier origins whose targets were known then; ``model{k}`` keeps the
    model's own forecast. The same rule as the service's forecaster (naive_blend.py)."""
    weights: dict[str, float] = {}
    for k in range(horizon):
        for o in all_origins:
            results[o][f"model{k}"] = results[o][f"point{k}"]
        if k == 0:
            continue
        used = []
        for i, o in enumerate(all_origins):
            known = [p for p in all_origins[:i] if p + k < o][-BLEND_MEMORY_DAYS:]
            w = 1.0
            if known:
                w = model_weight(
                    np.stack([market.prices[p + k] for p in known]),
                    np.stack([results[p][f"model{k}"] for p in known]),
                    np.stack([market.prices[p + k - 7] for p in known]),
                )
            results[o][f"point{k}"] = blend(results[o][f"model{k}"], market.prices[o + k - 7], w)
            used.append(w)
        weights[f"d+{k}"] = round(float(np.mean(used)), 3)
    return {"mean_model_weight": weights, "memory_days": BLEND_MEMORY_DAYS}


def _point_metrics(actual: np.ndarray, forecast: np.ndarray, naive: np.ndarray) -> dict[str, float]:
    return {
        "mae": round(metrics.mae(actual, forecast), 4),
        "smape_pct": round(metrics.smape_pct(actual, forecast), 3),
        "rmse": round(metrics.rmse(actual, forecast), 4),
        "rmae": round(metrics.rmae(actual, forecast, naive), 4),
    }


def _plot(
    path: Path, dates: pd.DatetimeIndex, actual: np.ndarray, point: np.ndarray, title: str
) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path.parent.mkdir(parents=True, exist_ok=True)
    n = actual.shape[0]
    starts = sorted({0, max(0, n // 2 - 3), max(0, n - 7)})
    fig, axes = plt.subplots(len(starts) + 1, 1, figsize=(12, 3.2 * (len(starts) + 1)))
    for ax, s in zip(axes, starts, strict=False):
        e = min(n, s + 7)
        hours = pd.date_range(dates[s], periods=(e - s) * 24, freq="1h")
        ax.plot(hours, actual[s:e].ravel(), label="actual", color="black", lw=1.2)
        ax.plot(hours, point[s:e].ravel(), label="forecast", color="tab:orange", lw=1.0)
        ax.set_ylabel("EUR/MWh")
        ax.legend(loc="upper right")
    err = (point - actual).ravel()
    axes[-1].hist(err, bins=120, color="tab:blue")
    axes[-1].set_xlabel("forecast - actual (EUR/MWh)")
    axes[0].set_title(title)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tc_forecast.bench_prices", description=__doc__)
    parser.add_argument("--data", type=Path, default=Path("../shared/data/epftoolbox-np/NP.csv"))
    parser.add_argument("--format", choices=("epftoolbox", "entsoe-zone"), default="epftoolbox")
    parser.add_argument("--test-days", type=int, default=728)
    parser.add_argument("--horizon-days", type=int, default=1, choices=range(1, 8))
    parser.add_argument(
        "--quantiles",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="quantile bands (default: on when --horizon-days > 1)",
    )
    parser.add_argument(
        "--windows",
        default="56,84,1092,1456",
        help="LEAR calibration windows in days, comma-separated",
    )
    parser.add_argument("--gbm-weight", type=float, default=0.5)
    parser.add_argument("--no-gbm", action="store_true")
    parser.add_argument("--gbm-window", type=int, default=1456)
    parser.add_argument("--alpha-every", type=int, default=7)
    parser.add_argument("--gbm-every", type=int, default=7)
    parser.add_argument("--gbm-rounds", type=int, default=400)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--plot", type=Path, default=Path(".run/bench/prices.png"))
    parser.add_argument(
        "--save-forecasts",
        type=Path,
        default=None,
        help="write every member's forecasts (npz) for later analysis",
    )
    args = parser.parse_args(argv)
    if not args.data.exists():
        _err(f"data file not found: {args.data}\n{DATA_HINT}")
        return 2
    t0 = time.monotonic()
    horizon = args.horizon_days
    with_quantiles = args.quantiles if args.quantiles is not None else horizon > 1
    config = EnsembleConfig(
        lear_windows_days=tuple(int(w) for w in args.windows.split(",") if w),
        gbm_window_days=args.gbm_window,
        gbm_weight=args.gbm_weight,
        alpha_every_days=args.alpha_every,
        gbm_every_days=args.gbm_every,
        gbm_rounds=args.gbm_rounds,
        use_gbm=not args.no_gbm,
    )
    market, dates, exog_names = load_market(args.data, args.format)
    n_days = market.n_days
    last_origin = n_days - horizon  # the last origin whose targets are all in the file
    test_origins = list(range(last_origin - args.test_days + 1, last_origin + 1))
    warmup = WARMUP_DAYS if with_quantiles else 0
    earliest = first_origin(horizon - 1) + 14
    if test_origins[0] - warmup < earliest:
        _err(f"not enough history: {n_days} days for {args.test_days} test days")
        return 2
    all_origins = list(range(test_origins[0] - warmup, last_origin + 1))
    chunk = 28
    chunks = [all_origins[i : i + chunk] for i in range(0, len(all_origins), chunk)]
    first_day, last_day = (
        dates[test_origins[0]].date(),
        dates[test_origins[-1] + horizon - 1].date(),
    )
    _err(
        f"{args.data}: {n_days} days, exogenous {exog_names}; test {first_day}..{last_day}"
        f" ({len(test_origins)} origins, H={horizon}),"
        f" {len(chunks)} chunks on {args.jobs} processes"
    )
    results: dict[int, dict[str, np.ndarray]] = {}
    abs_err_sum, err_n = 0.0, 0
    for done, part in enumerate(_run_chunks(market, chunks, horizon, config, args.jobs), start=1):
        results.update(part)
        for o, r in part.items():
            if o >= test_origins[0]:
                abs_err_sum += float(np.abs(r["point0"] - market.prices[o]).sum())
                err_n += 24
        elapsed = time.monotonic() - t0
        eta = elapsed / done * (len(chunks) - done)
        running = abs_err_sum / err_n if err_n else math.nan
        _err(
            f"[{done}/{len(chunks)} chunks, {len(results)}/{len(all_origins)} days] "
            f"running MAE(day-ahead) {running:.3f}  elapsed {elapsed:.0f}s  ETA {eta:.0f}s"
        )
    naive_blend = _blend_with_naive(market, results, all_origins, horizon) if horizon > 1 else {}
    report: dict[str, Any] = {
        "data": str(args.data),
        "format": args.format,
        "exogenous": exog_names,
    }
    test = np.array(test_origins)
    per_horizon: dict[str, Any] = {}
    all_actual, all_point, all_naive = [], [], []
    members_report: dict[str, float] = {}
    for k in range(horizon):
        actual = market.prices[test + k]
        point = np.stack([results[o][f"point{k}"] for o in test_origins])
        naive = market.prices[test + k - 7]
        per_horizon[f"d+{k}"] = _point_metrics(actual, point, naive)
        all_actual.append(actual)
        all_point.append(point)
        all_naive.append(naive)
        if k == 0:
            for key in results[test_origins[0]]:
                if key.endswith("@0"):
                    pred = np.stack([results[o][key] for o in test_origins])
                    members_report[key[:-2]] = round(metrics.mae(actual, pred), 4)
    actual_all, point_all, naive_all = map(np.concatenate, (all_actual, all_point, all_naive))
    report["metrics"] = _point_metrics(actual_all, point_all, naive_all)
    report["naive_weekly"] = _point_metrics(actual_all, naive_all, naive_all)
    report["per_horizon"] = per_horizon
    if naive_blend:
        model_only = np.concatenate(
            [np.stack([results[o][f"model{k}"] for o in test_origins]) for k in range(horizon)]
        )
        naive_blend["metrics_model_only"] = _point_metrics(actual_all, model_only, naive_all)
        report["naive_blend"] = naive_blend
    report["members_day_ahead_mae"] = members_report
    if with_quantiles:
        report["quantiles"] = _quantile_report(market, results, all_origins, test_origins, horizon)
    if args.format == "epftoolbox" and args.data.name == "NP.csv" and horizon == 1:
        report["published_np"] = PUBLISHED_NP
    wall = time.monotonic() - t0
    report["wall_time_s"] = round(wall, 1)
    report["config"] = {
        **asdict(config),
        "test_days": args.test_days,
        "horizon_days": horizon,
        "jobs": args.jobs,
        "test_start": str(dates[test_origins[0]].date()),
        "test_end": str(dates[test_origins[-1] + horizon - 1].date()),
    }
    if args.save_forecasts is not None:
        args.save_forecasts.parent.mkdir(parents=True, exist_ok=True)
        keys = sorted(results[test_origins[0]])
        arrays: dict[str, Any] = {
            key: np.stack([results[o][key] for o in test_origins]) for key in keys
        }
        arrays["origins"] = test
        arrays["actual"] = np.stack([market.prices[test + k] for k in range(horizon)])
        np.savez_compressed(args.save_forecasts, **arrays)
    try:
        _plot(
            args.plot,
            dates[test],
            all_actual[0],
            all_point[0],
            f"{args.data.name}: day-ahead forecast vs actual",
        )
        report["plot"] = str(args.plot)
    except Exception as exc:  # a plot must never cost the measured figures
        report["plot_error"] = repr(exc)
    _print_table(report)
    _out(json.dumps(report))
    return 0


def _quantile_report(
    market: DailyMarket,
    results: dict[int, dict[str, np.ndarray]],
    all_origins: list[int],
    test_origins: list[int],
    horizon: int,
) -> dict[str, Any]:
    """Bands from residuals of earlier origins whose targets were known at each origin."""
    scalers = {o: origin_scaler(market.prices, o) for o in all_origins}
    out: dict[str, Any] = {}
    cover, pinball = [], []
    test_set = set(test_origins)
    for k in range(horizon):
        bank: list[np.ndarray] = []
        bank_origins: list[int] = []
        lows, highs, bands, actuals = [], [], [], []
        pending: list[int] = []
        for o in all_origins:
            # Residuals of origin p (target p+k) are known once p+k < o.
            while pending and pending[0] + k < o:
                p = pending.pop(0)
                bank.append(
                    transformed_residual(scalers[p], market.prices[p + k], results[p][f"point{k}"])
                )
                bank_origins.append(p)
            recent = np.array(bank[-RESIDUAL_MEMORY_DAYS:]) if bank else np.zeros((0, 24))
            if o in test_set:
                band = quantile_band(scalers[o], results[o][f"point{k}"], recent, QUANTILES)
                bands.append(band)
                actuals.append(market.prices[o + k])
                lows.append(band[0])
                highs.append(band[-1])
            pending.append(o)
        actual = np.stack(actuals)
        stacked = np.stack(bands)
        cov = metrics.interval_coverage(actual, np.stack(lows), np.stack(highs))
        pin = float(
            np.mean(
                [metrics.pinball_loss(actual, stacked[:, i], q) for i, q in enumerate(QUANTILES)]
            )
        )
        out[f"d+{k}"] = {"coverage_p10_p90": round(cov, 4), "pinball_mean": round(pin, 4)}
        cover.append(cov)
        pinball.append(pin)
    out["all"] = {
        "coverage_p10_p90": round(float(np.mean(cover)), 4),
        "pinball_mean": round(float(np.mean(pinball)), 4),
        "nominal_coverage": 0.8,
    }
    return out


def _row(name: str, m: dict[str, float]) -> str:
    return f"{name:<40}{m['mae']:>8.3f}{m['smape_pct']:>9.2f}{m['rmse']:>9.3f}{m['rmae']:>8.3f}"


def _print_table(report: dict[str, Any]) -> None:
    lines = [
        f"{'model':<40}{'MAE':>8}{'sMAPE%':>9}{'RMSE':>9}{'rMAE':>8}",
        _row("this ensemble", report["metrics"]),
        _row("weekly naive (measured)", report["naive_weekly"]),
    ]
    for name, p in report.get("published_np", {}).items():
        lines.append(_row(f"published {name}", p))
    if "quantiles" in report:
        q = report["quantiles"]["all"]
        lines.append(
            f"p10-p90 coverage {q['coverage_p10_p90']:.3f} (nominal 0.8), "
            f"mean pinball {q['pinball_mean']:.3f}"
        )
    lines.append(f"wall time {report['wall_time_s']:.1f}s")
    _out("\n".join(lines))


def _err(message: str) -> None:
    sys.stderr.write(message + "\n")
    sys.stderr.flush()


def _out(message: str) -> None:
    sys.stdout.write(message + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    sys.exit(main())

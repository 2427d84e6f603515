"""A synthetic hourly market: for tests and demos, where no real data may be assumed."""

import numpy as np
import pandas as pd


def synthetic_market(days: int = 120, seed: int = 3) -> pd.DataFrame:
    """Hourly prices with daily and weekly shape, AR noise, and load/wind that drive them."""
    rng = np.random.default_rng(seed)
    index = pd.date_range("2021-01-04", periods=days * 24, freq="1h")
    hour = index.hour.to_numpy()
    weekday = index.day_of_week.to_numpy()
    load = 40000 + 6000 * np.sin((hour - 6) / 24 * 2 * np.pi) - 3000 * (weekday >= 5)
    load = load + rng.normal(0, 500, len(index))
    wind = np.clip(3000 + np.cumsum(rng.normal(0, 80, len(index))), 200, None)
    level = 30 + np.cumsum(rng.normal(0, 0.05, len(index)))
    price = level + (load - 40000) / 1000 - wind / 1000 + rng.normal(0, 0.8, len(index))
    return pd.DataFrame({"price": price, "load": load, "wind": wind}, index=index)

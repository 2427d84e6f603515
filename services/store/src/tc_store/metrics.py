from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter

from tc_store.domain import WriteResult

MARKET_TABLES = (
    "spot_prices",
    "exchange_rates",
    "weather_forecasts",
    "price_forecasts",
    "price_anomalies",
)
HISTORY_TABLES = ("drives", "charges", "behaviour_profiles", "charge_plans", "vehicle_activity")


@dataclass(frozen=True)
class StoreMetrics:
    samples_stored: Counter
    duplicates_ignored: Counter
    db_retries: Counter
    rows_written: Counter
    rows_unchanged: Counter
    telemetry_rows_dropped: Counter

    @classmethod
    def create(cls, registry: CollectorRegistry) -> "StoreMetrics":
        metrics = cls(
            samples_stored=Counter(
                "tc_store_samples_stored",
                "Telemetry samples written to the database.",
                registry=registry,
            ),
            duplicates_ignored=Counter(
                "tc_store_duplicates_ignored",
                "Telemetry samples ignored because (vehicle_id, sampled_at) was already stored.",
                registry=registry,
            ),
            db_retries=Counter(
                "tc_store_db_retries",
                "Database operations retried after the database was unreachable.",
                registry=registry,
            ),
            rows_written=Counter(
                "tc_store_rows_written",
                "Market, weather, forecast, history and plan rows inserted or replaced, by table.",
                ["table"],
                registry=registry,
            ),
            rows_unchanged=Counter(
                "tc_store_rows_unchanged",
                "Market, weather, forecast, history and plan rows left as stored (a "
                "redelivery, or superseded by a newer revision or fetch), by table.",
                ["table"],
                registry=registry,
            ),
            telemetry_rows_dropped=Counter(
                "tc_store_telemetry_rows_dropped",
                "Telemetry samples deleted by the retention policy (plain PostgreSQL; on "
                "TimescaleDB its own policy drops whole chunks and this stays 0).",
                registry=registry,
            ),
        )
        for table in MARKET_TABLES + HISTORY_TABLES:
            # Exported as 0 from the start, so a rate over them needs no first write.
            metrics.rows_written.labels(table=table)
            metrics.rows_unchanged.labels(table=table)
        return metrics

    def count_write(self, table: str, result: WriteResult) -> None:
        self.rows_written.labels(table=table).inc(result.written)
        self.rows_unchanged.labels(table=table).inc(result.unchanged)

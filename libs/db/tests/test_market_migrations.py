"""The market, weather and forecast tables (0003, 0004) against a real PostgreSQL.

Like test_migrations.py, every test runs in whichever mode the cluster supports (plain, or
TimescaleDB with ``PG_BIN`` pointing at such an installation) and checks that mode's objects.
"""

from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from tc_db import apply_migrations, load_migrations

from .cluster import cluster_mode, connect, rows

MARKET_TABLES = (
    "spot_prices",
    "exchange_rates",
    "weather_forecasts",
    "price_forecasts",
    "price_anomalies",
)
HYPERTABLES = {
    "spot_prices": ("start_at", timedelta(days=30)),
    "weather_forecasts": ("updated_at", timedelta(days=7)),
    "price_forecasts": ("issued_at", timedelta(days=7)),
}
T0 = datetime(2025, 3, 10, 0, 0, tzinfo=UTC)


async def primary_key(conn: psycopg.AsyncConnection, table: str) -> list[str]:
    found = await rows(
        conn,
        "SELECT a.attname FROM pg_index i "
        "JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, pos) ON TRUE "
        "JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum "
        "WHERE i.indrelid = %s::regclass AND i.indisprimary ORDER BY k.pos",
        (table,),
    )
    return [name for (name,) in found]


class TestLoadMarketMigrations:
    def test_tables_are_defined_once_and_only_the_conversion_has_two_variants(self) -> None:
        by_name = {m.name: m for m in load_migrations()}
        tables = by_name["0003_market_weather_forecasts"]
        conversion = by_name["0004_market_hypertables"]

        assert tables.timescaledb_sql is None
        assert all(f"CREATE TABLE IF NOT EXISTS {t} " in tables.sql for t in MARKET_TABLES)
        steps = conversion.steps("timescaledb")
        assert [s for t in HYPERTABLES for s in steps if f"'{t}'" in s] == steps
        assert "create_hypertable" not in conversion.steps("plain")[0]


@pytest.mark.integration
class TestMarketTables:
    async def test_each_table_has_the_primary_key_its_upserts_rely_on(
        self, database_url: str
    ) -> None:
        async with await connect(database_url) as conn:
            await apply_migrations(conn)
            keys = {t: await primary_key(conn, t) for t in MARKET_TABLES}
            stored_at = await rows(
                conn,
                "SELECT column_default FROM information_schema.columns "
                "WHERE table_name = 'spot_prices' AND column_name = 'stored_at'",
            )

        assert keys == {
            "spot_prices": ["zone", "start_at", "resolution_min"],
            "exchange_rates": ["rate_date", "currency"],
            "weather_forecasts": ["location_id", "updated_at", "start_at"],
            "price_forecasts": ["zone", "issued_at", "start_at"],
            "price_anomalies": ["zone", "kind", "start_at"],
        }
        assert stored_at == [("now()",)]

    async def test_large_tables_are_hypertables_exactly_in_timescale_mode(
        self, database_url: str
    ) -> None:
        async with await connect(database_url) as conn:
            mode = await cluster_mode(conn)
            await apply_migrations(conn)
            ((has_catalog,),) = await rows(
                conn, "SELECT to_regnamespace('timescaledb_information') IS NOT NULL"
            )
            dimensions = (
                await rows(
                    conn,
                    "SELECT hypertable_name, column_name, time_interval "
                    "FROM timescaledb_information.dimensions "
                    "WHERE hypertable_name = ANY(%s) ORDER BY hypertable_name",
                    (list(MARKET_TABLES),),
                )
                if has_catalog
                else []
            )

        if mode == "timescaledb":
            assert dimensions == sorted((t, c, i) for t, (c, i) in HYPERTABLES.items())
        else:
            assert dimensions == []

    async def test_weather_latest_takes_each_slot_from_the_newest_run_that_has_it(
        self, database_url: str
    ) -> None:
        old_run, new_run = T0, T0 + timedelta(hours=6)
        # The old run covers 00:00-09:00, the new one 06:00-12:00 (with other temperatures).
        slots = [(old_run, h, 10.0 + h) for h in range(9)] + [
            (new_run, h, 20.0 + h) for h in range(6, 12)
        ]
        async with await connect(database_url) as conn:
            await apply_migrations(conn)
            for location in ("zone:NO3", "zone:NO1"):
                for updated_at, hour, temperature in slots:
                    await conn.execute(
                        "INSERT INTO weather_forecasts (location_id, updated_at, start_at, "
                        "end_at, air_temperature_c, latitude_deg, longitude_deg, source, "
                        "fetched_at) VALUES (%s, %s, %s, %s, %s, 63.4, 10.4, 'simulated', %s)",
                        (
                            location,
                            updated_at,
                            T0 + timedelta(hours=hour),
                            T0 + timedelta(hours=hour + 1),
                            temperature,
                            updated_at,
                        ),
                    )
            latest = await rows(
                conn,
                "SELECT start_at, updated_at, air_temperature_c FROM weather_latest "
                "WHERE location_id = 'zone:NO3' ORDER BY start_at",
            )

        assert latest == [
            (T0 + timedelta(hours=h), old_run if h < 6 else new_run, (10.0 if h < 6 else 20.0) + h)
            for h in range(12)
        ]

    async def test_price_forecast_latest_holds_only_the_newest_issue_of_each_zone(
        self, database_url: str
    ) -> None:
        issues = [("NO1", T0, 3), ("NO1", T0 + timedelta(hours=1), 2), ("SE3", T0, 4)]
        async with await connect(database_url) as conn:
            await apply_migrations(conn)
            for zone, issued_at, count in issues:
                for i in range(count):
                    start = T0 + timedelta(days=1, minutes=15 * i)
                    end = start + timedelta(minutes=15)
                    await conn.execute(
                        "INSERT INTO price_forecasts (zone, issued_at, model, known_until, "
                        "start_at, end_at, p10_eur_per_mwh, p50_eur_per_mwh, p90_eur_per_mwh) "
                        "VALUES (%s, %s, 'test/1', %s, %s, %s, 1, 2, 3)",
                        (zone, issued_at, T0 + timedelta(days=1), start, end),
                    )
            latest = await rows(
                conn,
                "SELECT zone, issued_at, count(*) FROM price_forecast_latest "
                "GROUP BY zone, issued_at ORDER BY zone",
            )

        assert latest == [("NO1", T0 + timedelta(hours=1), 2), ("SE3", T0, 4)]

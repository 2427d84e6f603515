"""Kafka topic names, the only place a topic string is written, and the topic contract.

Names follow ``<domain>.<event>.v<major>``. A breaking schema change gets a new class and a new
topic (``...v2``); both run side by side until every consumer has moved. Messages on the
vehicle topics are keyed by the vehicle id so per-vehicle order holds within a partition.

Every topic has an explicit retention (``CONTRACT``): a real Kafka would otherwise keep 7 days
of everything, silently. Retention also bounds how long personal data (positions, drives)
lingers on the bus after an erasure. Partitions, replication factor and ``min.insync.replicas``
come from the deployment's settings (``tc_common.settings.KafkaSettings``), which can also
override a topic's retention.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Final

TELEMETRY_SAMPLED_V1: Final = "vehicle.telemetry.v1"
STATE_OF_CHARGE_CHANGED_V1: Final = "forecast.soc.v1"
# v2: the invitation travels as its digest (v1 carried the code in clear; nothing reads it).
PROVISIONING_REQUESTED_V2: Final = "provisioning.requested.v2"
PROVISIONING_ACKNOWLEDGED_V1: Final = "provisioning.acknowledged.v1"
DEAD_LETTER_V1: Final = "ops.deadletter.v1"
SPOT_PRICES_PUBLISHED_V1: Final = "market.spot_prices.v1"
EXCHANGE_RATES_PUBLISHED_V1: Final = "market.fx_rates.v1"
WEATHER_FORECAST_PUBLISHED_V1: Final = "weather.forecast.v1"
PRICE_FORECAST_PUBLISHED_V1: Final = "forecast.prices.v1"
PRICE_ANOMALY_DETECTED_V1: Final = "forecast.price_anomalies.v1"
DRIVE_RECORDED_V1: Final = "vehicle.drives.v1"
CHARGE_RECORDED_V1: Final = "vehicle.charges.v1"
BEHAVIOUR_PROFILE_UPDATED_V1: Final = "forecast.behaviour.v1"
CHARGE_PLAN_PUBLISHED_V1: Final = "forecast.plans.v1"
VEHICLE_ACTIVITY_OBSERVED_V1: Final = "vehicle.activity.v1"
ACCOUNT_CHANGED_V1: Final = "accounts.changes.v1"
API_KEY_CHANGED_V1: Final = "accounts.api_keys.v1"
TESSIE_TOKEN_CHANGED_V1: Final = "accounts.tessie_tokens.v1"
TESSIE_ACCESS_CHANGED_V1: Final = "accounts.tessie_access.v1"
ERASURE_STEP_DONE_V1: Final = "accounts.erasure.v1"
VPN_DEVICES_V1: Final = "vpn.devices.v1"
VPN_DELIVERIES_V1: Final = "vpn.deliveries.v1"
VPN_CRL_V1: Final = "vpn.crl.v1"
VPN_REQUESTS_V1: Final = "vpn.requests.v1"
# The forecast service's own memory: compacted changelogs of what it learns from, keyed by
# entity (a drive, a charge, a zone's delivery day), so that it never depends on the raw
# topics' retention.
FORECAST_DRIVES_CHANGELOG_V1: Final = "forecast.changelog.drives.v1"
FORECAST_CHARGES_CHANGELOG_V1: Final = "forecast.changelog.charges.v1"
FORECAST_PRICES_CHANGELOG_V1: Final = "forecast.changelog.spot_prices.v1"
FORECAST_VEHICLES_CHANGELOG_V1: Final = "forecast.changelog.vehicles.v1"

ALL_TOPICS: Final = (
    TELEMETRY_SAMPLED_V1,
    STATE_OF_CHARGE_CHANGED_V1,
    PROVISIONING_REQUESTED_V2,
    PROVISIONING_ACKNOWLEDGED_V1,
    DEAD_LETTER_V1,
    SPOT_PRICES_PUBLISHED_V1,
    EXCHANGE_RATES_PUBLISHED_V1,
    WEATHER_FORECAST_PUBLISHED_V1,
    PRICE_FORECAST_PUBLISHED_V1,
    PRICE_ANOMALY_DETECTED_V1,
    DRIVE_RECORDED_V1,
    CHARGE_RECORDED_V1,
    BEHAVIOUR_PROFILE_UPDATED_V1,
    CHARGE_PLAN_PUBLISHED_V1,
    VEHICLE_ACTIVITY_OBSERVED_V1,
    ACCOUNT_CHANGED_V1,
    API_KEY_CHANGED_V1,
    TESSIE_TOKEN_CHANGED_V1,
    TESSIE_ACCESS_CHANGED_V1,
    ERASURE_STEP_DONE_V1,
    VPN_DEVICES_V1,
    VPN_DELIVERIES_V1,
    VPN_CRL_V1,
    VPN_REQUESTS_V1,
    FORECAST_DRIVES_CHANGELOG_V1,
    FORECAST_CHARGES_CHANGELOG_V1,
    FORECAST_PRICES_CHANGELOG_V1,
    FORECAST_VEHICLES_CHANGELOG_V1,
)


@dataclass(frozen=True)
class TopicPolicy:
    """How long a topic keeps its messages, and why that long."""

    retention: timedelta | None
    """None: kept until compaction replaces a key's message by a newer one."""
    why: str
    compacted: bool = False


WEEK = timedelta(days=7)

CONTRACT: Final[Mapping[str, TopicPolicy]] = {
    TELEMETRY_SAMPLED_V1: TopicPolicy(WEEK, "the store keeps every sample; positions"),
    VEHICLE_ACTIVITY_OBSERVED_V1: TopicPolicy(WEEK, "the store keeps the newest per car"),
    DRIVE_RECORDED_V1: TopicPolicy(
        WEEK, "the store keeps every drive, the forecast service its changelog; positions"
    ),
    CHARGE_RECORDED_V1: TopicPolicy(WEEK, "as drives; positions"),
    SPOT_PRICES_PUBLISHED_V1: TopicPolicy(
        WEEK, "the store keeps every price, the forecast service its changelog"
    ),
    FORECAST_DRIVES_CHANGELOG_V1: TopicPolicy(
        None,
        "the forecast service's memory of every drive (key: vehicle/drive id), read whole at "
        "its start to learn the rhythms",
        compacted=True,
    ),
    FORECAST_CHARGES_CHANGELOG_V1: TopicPolicy(
        None, "as drives: every charge (key: vehicle/charge id)", compacted=True
    ),
    FORECAST_PRICES_CHANGELOG_V1: TopicPolicy(
        None,
        "the forecast service's price history (key: zone/delivery day, the newest revision)",
        compacted=True,
    ),
    FORECAST_VEHICLES_CHANGELOG_V1: TopicPolicy(
        None,
        "the forecast service's memory of each vehicle (key: VIN): the state of charge it "
        "reported, the plug state and the last plan",
        compacted=True,
    ),
    EXCHANGE_RATES_PUBLISHED_V1: TopicPolicy(WEEK, "the store keeps every rate"),
    WEATHER_FORECAST_PUBLISHED_V1: TopicPolicy(WEEK, "the store keeps every run"),
    STATE_OF_CHARGE_CHANGED_V1: TopicPolicy(WEEK, "live state for dashboards on Kafka"),
    PRICE_FORECAST_PUBLISHED_V1: TopicPolicy(WEEK, "the store keeps every issued forecast"),
    PRICE_ANOMALY_DETECTED_V1: TopicPolicy(WEEK, "the store keeps every anomaly"),
    BEHAVIOUR_PROFILE_UPDATED_V1: TopicPolicy(
        None,
        "the newest profile of every car, keyed by VIN: ingest reads the home areas from it "
        "at its start",
        compacted=True,
    ),
    CHARGE_PLAN_PUBLISHED_V1: TopicPolicy(WEEK, "the store keeps every plan"),
    PROVISIONING_REQUESTED_V2: TopicPolicy(
        WEEK,
        "the provisioner keeps its decisions in its own table; carries personal data (email), "
        "never the invitation code",
    ),
    PROVISIONING_ACKNOWLEDGED_V1: TopicPolicy(WEEK, "answers, kept by the provisioner too"),
    DEAD_LETTER_V1: TopicPolicy(timedelta(days=14), "two weeks for an operator to look"),
    ACCOUNT_CHANGED_V1: TopicPolicy(
        None,
        "the newest state of every account (key: account id); the accounts table is the "
        "record; personal data (email): an erasure ends in a tombstone",
        compacted=True,
    ),
    API_KEY_CHANGED_V1: TopicPolicy(
        None,
        "every API key's newest state (key: key id), as its digest, never the key",
        compacted=True,
    ),
    TESSIE_TOKEN_CHANGED_V1: TopicPolicy(
        None,
        "every account's newest Tessie token (key: account id), as ciphertext only; ingest "
        "reads it whole at start; a revoked token's ciphertext goes with compaction",
        compacted=True,
    ),
    TESSIE_ACCESS_CHANGED_V1: TopicPolicy(
        None,
        "whether Tessie accepts each account's token (key: account id)",
        compacted=True,
    ),
    ERASURE_STEP_DONE_V1: TopicPolicy(
        timedelta(days=30),
        "each service's part of an erasure done; counts only, no personal data (the store "
        "keeps the audit record)",
    ),
    VPN_DEVICES_V1: TopicPolicy(
        None,
        "every device certificate's newest state (key: serial); the provisioner's table is the "
        "record; an erased account's devices are republished with their names blanked",
        compacted=True,
    ),
    VPN_DELIVERIES_V1: TopicPolicy(
        timedelta(days=30), "each profile email's outcome, for operators; kept in the table too"
    ),
    VPN_CRL_V1: TopicPolicy(
        None,
        "the newest signed CRL (one key): the agent beside the OpenVPN server reads it whole "
        "at its start",
        compacted=True,
    ),
    VPN_REQUESTS_V1: TopicPolicy(
        WEEK,
        "revocations and re-sends asked for; the provisioner acts at once and keeps the "
        "outcome in its tables",
    ),
}

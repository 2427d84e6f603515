"""``make run``'s demo account: the tenant that owns the fleet ``make run`` polls.

It is opened the way an operator opens any account (``tc_db.accounts``, the events on the
accounts topics through ``tc_common.publishing``, as tc-admin does), so the API key ``make run``
prints is an account's key and sees that account's vehicles only, as a customer's would.
"""

import asyncio
from datetime import datetime
from uuid import UUID

import httpx
import psycopg

from tc_common.events.base import Event
from tc_common.publishing import prepare, publish
from tc_common.settings import KafkaSettings
from tc_common.topics import ACCOUNT_CHANGED_V1, API_KEY_CHANGED_V1
from tc_db import accounts

DEMO_EMAIL = "demo@teslaconnectivity.invalid"


def fleet_vins(tessie_base_url: str, token: str) -> list[str]:
    """The VINs the Tessie account of ``token`` holds (``/vehicles`` reads Tessie's cache and
    never wakes a car)."""
    response = httpx.get(
        f"{tessie_base_url}/vehicles",
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    response.raise_for_status()
    return [str(v["vin"]) for v in response.json()["results"]]


async def open_demo_account(
    database_url: str, kafka: KafkaSettings, vins: list[str], key: str, *, at: datetime
) -> UUID:
    """The demo account with ``vins`` linked and ``key`` registered; idempotent, so a second
    ``make run`` on the same run directory finds everything as it was."""
    await prepare(kafka, [ACCOUNT_CHANGED_V1, API_KEY_CHANGED_V1])
    async with await psycopg.AsyncConnection.connect(database_url) as conn:
        account = await accounts.create_account(conn, DEMO_EMAIL, at=at)
        for vin in vins:
            account = await accounts.link_vehicle(conn, account.account_id, vin, at=at)
        key_state = await accounts.register_key(
            conn, account.account_id, key, label="make run", at=at
        )
    messages: list[tuple[str, Event]] = [
        (ACCOUNT_CHANGED_V1, account),
        (API_KEY_CHANGED_V1, key_state),
    ]
    await publish(kafka, messages)
    return account.account_id


def open_demo_account_sync(
    database_url: str, kafka: KafkaSettings, vins: list[str], key: str, *, at: datetime
) -> UUID:
    return asyncio.run(open_demo_account(database_url, kafka, vins, key, at=at))

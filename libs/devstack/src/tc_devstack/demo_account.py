"""``make run``'s demo account: the tenant that owns the fleet ``make run`` polls.

It is opened the way an operator opens any account (``tc_db.accounts``, the events on the
accounts topics through ``tc_common.publishing``, as tc-admin does), so the API key ``make run``
prints is an account's key and sees that account's vehicles only, as a customer's would.
"""

import asyncio
import time
from datetime import datetime
from typing import Any
from uuid import UUID

import httpx
import psycopg

from tc_common.events.base import Event
from tc_common.publishing import prepare, publish
from tc_common.settings import KafkaSettings
from tc_common.topics import ACCOUNT_CHANGED_V1, API_KEY_CHANGED_V1
from tc_db import accounts

DEMO_EMAIL = "demo@teslaconnectivity.invalid"


# How long make run waits for the api to accept the demo token (Tessie or the broker may
# answer 503 for a moment while they start).
REGISTER_DEADLINE_S = 60.0


def register_demo_token(api_url: str, key: str, token: str) -> dict[str, Any]:
    """Hand the demo account's Tessie token to the api, as a customer does (``PUT
    /v1/account/tessie-token`` with the account's key); the api links the cars Tessie lists.
    Retries a 503 as its Retry-After says; any other refusal stops ``make run`` with the
    api's reason."""
    deadline = time.monotonic() + REGISTER_DEADLINE_S
    while True:
        response = httpx.put(
            f"{api_url}/v1/account/tessie-token",
            json={"token": token},
            headers={"X-API-Key": key},
            timeout=30,
        )
        if response.status_code == 200:
            body: dict[str, Any] = response.json()
            return body
        wait_s = float(response.headers.get("retry-after", "1"))
        if response.status_code != 503 or time.monotonic() + wait_s > deadline:
            raise RuntimeError(
                f"the api refused the demo account's Tessie token ({response.status_code}): "
                f"{response.text}"
            )
        time.sleep(wait_s)


async def open_demo_account(
    database_url: str, kafka: KafkaSettings, key: str, *, at: datetime
) -> UUID:
    """The demo account with ``key`` registered; idempotent, so a second ``make run`` on the
    same run directory finds everything as it was. Its cars come with its Tessie token
    (``register_demo_token``)."""
    await prepare(kafka, [ACCOUNT_CHANGED_V1, API_KEY_CHANGED_V1])
    async with await psycopg.AsyncConnection.connect(database_url) as conn:
        account = await accounts.create_account(conn, DEMO_EMAIL, at=at)
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
    database_url: str, kafka: KafkaSettings, key: str, *, at: datetime
) -> UUID:
    return asyncio.run(open_demo_account(database_url, kafka, key, at=at))

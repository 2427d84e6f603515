"""What the store's integration tests share: the running app, and what is in its database.

Both lived in conftest.py, handed to the tests through a ``helpers`` fixture; they are plain
functions and a class, so the tests import them.
"""

from typing import Any

import httpx
import psycopg
from faststream.asgi import AsgiFastStream
from prometheus_client.parser import text_string_to_metric_families

# The store joins its consumer group, reads and commits in seconds, not in the few that
# ``eventually`` waits by default.
STORE_TIMEOUT_S = 60.0


class RunningStore:
    """The store app under its lifespan: its HTTP endpoints and its metrics."""

    def __init__(self, app: AsgiFastStream) -> None:
        self.app = app

    async def get(self, path: str) -> httpx.Response:
        transport = httpx.ASGITransport(app=self.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://store") as client:
            return await client.get(path)

    async def metric(self, name: str) -> float:
        text = (await self.get("/metrics")).text
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                if sample.name == name:
                    return float(sample.value)
        return 0.0


async def query(url: str, sql: str, params: Any = ()) -> list[tuple[Any, ...]]:
    """The rows ``sql`` selects in the database at ``url``, on a connection of its own."""
    async with await psycopg.AsyncConnection.connect(url) as conn:
        cur = await conn.execute(sql.encode(), params)
        return await cur.fetchall()

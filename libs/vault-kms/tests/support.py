"""What the KMS keyring's tests share: a pinned moment, a token, the region of the fake."""

from datetime import UTC, datetime

# Looks like a Tessie API token; every test that seals something seals this.
TOKEN = "tessie-live-3f9c2a7be1d04c58a6f1e0b2c9d87a41"
NOW = datetime(2026, 12, 5, 18, 30, tzinfo=UTC)
REGION = "eu-central-1"

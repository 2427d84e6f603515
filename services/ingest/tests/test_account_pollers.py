"""The accounts' supervisor with fake pollers: which accounts run, the token each gets, and
what it publishes about Tessie's answers."""

import base64
import logging
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from uuid import UUID

import pytest
from faststream.kafka import KafkaBroker, TestKafkaBroker
from prometheus_client import CollectorRegistry

from tc_common.clock import FixedClock
from tc_common.events import TessieAccessChanged
from tc_common.logging import redact
from tc_common.topics import TESSIE_TOKEN_CHANGED_V1
from tc_ingest.accounts import (
    AccountHooks,
    AccountPollers,
    AccountRun,
    AccountTokenUnavailableError,
)
from tc_ingest.domain.history import HistoryKind
from tc_ingest.handlers import build_router
from tc_ingest.metrics import AccountMetrics
from tc_testkit.recorders import RecordingPublisher
from tc_vault import LocalKeyring, Vault, VaultSettings
from tc_vault_kms import KmsUnavailableError

from .accounts_support import (
    ACCOUNT_A,
    ACCOUNT_B,
    TOKEN_A,
    TOKEN_B,
    make_vault,
    registered,
    revoked,
    vault_settings,
)

NOW = datetime(2026, 12, 5, 22, 0, tzinfo=UTC)


class FakeRun:
    """An account's pollers as the supervisor sees them; records what happened to them."""

    def __init__(self, hooks: AccountHooks) -> None:
        self.hooks = hooks
        self.started = False
        self.stopped = False
        self.vins: list[str] = []

    async def start(self) -> None:
        self.started = True

    async def stop(self) -> None:
        self.stopped = True

    def vehicles(self) -> Sequence[str]:
        return self.vins

    def covered_ages(self, kind: HistoryKind) -> list[float]:
        return []


class Runs:
    def __init__(self) -> None:
        self.made: list[FakeRun] = []

    def __call__(self, hooks: AccountHooks) -> AccountRun:
        run = FakeRun(hooks)
        self.made.append(run)
        return AccountRun(run.start, run.stop, run.vehicles, lambda: [], run.covered_ages)

    def running(self, account_id: UUID) -> FakeRun:
        [run] = [r for r in self.made if r.hooks.account_id == account_id and not r.stopped]
        return run


@pytest.fixture
def vault() -> Vault:
    return make_vault()


@pytest.fixture
def runs() -> Runs:
    return Runs()


@pytest.fixture
def published() -> RecordingPublisher[TessieAccessChanged]:
    return RecordingPublisher()


@pytest.fixture
def registry() -> CollectorRegistry:
    return CollectorRegistry()


@pytest.fixture
def accounts(
    vault: Vault,
    runs: Runs,
    published: RecordingPublisher[TessieAccessChanged],
    registry: CollectorRegistry,
) -> AccountPollers:
    return AccountPollers(
        vault,
        runs,
        published,
        clock=FixedClock(NOW),
        metrics=AccountMetrics(registry),
        reconcile_interval_s=10,
    )


class TestWhichAccountsRun:
    async def test_each_account_with_a_registered_token_gets_pollers_with_its_own_token(
        self, accounts: AccountPollers, vault: Vault, runs: Runs
    ) -> None:
        accounts.on_token_changed(ACCOUNT_A, registered(vault, ACCOUNT_A, TOKEN_A))
        accounts.on_token_changed(ACCOUNT_B, registered(vault, ACCOUNT_B, TOKEN_B))

        await accounts.reconcile()

        assert accounts.polled_accounts == [ACCOUNT_A, ACCOUNT_B]
        assert runs.running(ACCOUNT_A).started
        assert runs.running(ACCOUNT_A).hooks.token() == TOKEN_A
        assert runs.running(ACCOUNT_B).hooks.token() == TOKEN_B

    async def test_a_new_token_is_used_from_the_next_request_without_a_restart(
        self, accounts: AccountPollers, vault: Vault, runs: Runs
    ) -> None:
        accounts.on_token_changed(ACCOUNT_A, registered(vault, ACCOUNT_A, TOKEN_A))
        await accounts.reconcile()
        run = runs.running(ACCOUNT_A)

        accounts.on_token_changed(ACCOUNT_A, registered(vault, ACCOUNT_A, "a-newer-token-55"))
        await accounts.reconcile()

        assert run.hooks.token() == "a-newer-token-55"
        assert len(runs.made) == 1

    @pytest.mark.parametrize("how", ["revoked", "tombstone"])
    async def test_a_revoked_or_erased_token_stops_the_accounts_pollers_only(
        self, accounts: AccountPollers, vault: Vault, runs: Runs, how: str
    ) -> None:
        event = registered(vault, ACCOUNT_A, TOKEN_A)
        accounts.on_token_changed(ACCOUNT_A, event)
        accounts.on_token_changed(ACCOUNT_B, registered(vault, ACCOUNT_B, TOKEN_B))
        await accounts.reconcile()
        run = runs.running(ACCOUNT_A)

        accounts.on_token_changed(
            ACCOUNT_A, revoked(ACCOUNT_A, event.token_id) if how == "revoked" else None
        )
        await accounts.reconcile()

        assert run.stopped
        assert accounts.polled_accounts == [ACCOUNT_B]
        with pytest.raises(AccountTokenUnavailableError):
            run.hooks.token()

    async def test_an_opened_token_is_registered_as_a_secret_of_the_logs(
        self, accounts: AccountPollers, vault: Vault, runs: Runs
    ) -> None:
        token = f"never-logged-{uuid.uuid4().hex}"
        accounts.on_token_changed(ACCOUNT_A, registered(vault, ACCOUNT_A, token))
        await accounts.reconcile()

        runs.running(ACCOUNT_A).hooks.token()

        assert redact(f"token {token} here") == "token *** here"

    async def test_without_vault_keys_a_registered_token_is_an_error_log_never_the_token(
        self,
        vault: Vault,
        runs: Runs,
        published: RecordingPublisher[TessieAccessChanged],
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        accounts = AccountPollers(
            None,
            runs,
            published,
            clock=FixedClock(NOW),
            metrics=AccountMetrics(CollectorRegistry()),
            reconcile_interval_s=10,
        )
        event = registered(vault, ACCOUNT_A, TOKEN_A)
        caplog.set_level(logging.INFO)

        accounts.on_token_changed(ACCOUNT_A, event)
        await accounts.reconcile()

        assert accounts.polled_accounts == []
        [error] = [r for r in caplog.records if r.levelno == logging.ERROR]
        assert "no vault keys" in error.getMessage()
        assert str(ACCOUNT_A) in error.getMessage()
        assert TOKEN_A not in caplog.text
        assert event.sealed_token is not None
        assert event.sealed_token.ciphertext not in caplog.text

    async def test_a_token_that_does_not_open_is_logged_once_without_bytes(
        self, accounts: AccountPollers, runs: Runs, caplog: pytest.LogCaptureFixture
    ) -> None:
        # Sealed under another key: the vault cannot open it.
        accounts.on_token_changed(ACCOUNT_A, registered(_other_vault(), ACCOUNT_A, TOKEN_A))
        await accounts.reconcile()
        run = runs.running(ACCOUNT_A)

        for _ in range(3):
            with pytest.raises(AccountTokenUnavailableError):
                run.hooks.token()

        errors = [r for r in caplog.records if r.levelno == logging.ERROR]
        assert len(errors) == 1
        assert "does not open" in errors[0].getMessage()

    async def test_kms_away_skips_requests_without_calling_the_token_unreadable(
        self,
        runs: Runs,
        published: RecordingPublisher[TessieAccessChanged],
        registry: CollectorRegistry,
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        keys = _KeysThatGoAway(LocalKeyring.from_settings(vault_settings()))
        accounts = AccountPollers(
            Vault(keys),
            runs,
            published,
            clock=FixedClock(NOW),
            metrics=AccountMetrics(registry),
            reconcile_interval_s=10,
        )
        accounts.on_token_changed(ACCOUNT_A, registered(make_vault(), ACCOUNT_A, TOKEN_A))
        await accounts.reconcile()
        run = runs.running(ACCOUNT_A)
        keys.away = True

        for _ in range(3):
            with pytest.raises(AccountTokenUnavailableError, match="cannot be opened now"):
                run.hooks.token()
        keys.away = False

        assert run.hooks.token() == TOKEN_A
        warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
        assert len(warnings) == 1
        assert "cannot be opened now" in warnings[0].getMessage()
        assert not [r for r in caplog.records if r.levelno == logging.ERROR]
        assert registry.get_sample_value("tc_ingest_account_tokens_unreadable_total") == 0


class TestTessiesAnswers:
    async def test_a_refused_token_is_published_once_with_the_accounts_vehicles_and_stops_it(
        self,
        accounts: AccountPollers,
        vault: Vault,
        runs: Runs,
        published: RecordingPublisher[TessieAccessChanged],
    ) -> None:
        event_a = registered(vault, ACCOUNT_A, TOKEN_A)
        accounts.on_token_changed(ACCOUNT_A, event_a)
        accounts.on_token_changed(ACCOUNT_B, registered(vault, ACCOUNT_B, TOKEN_B))
        await accounts.reconcile()
        run_a = runs.running(ACCOUNT_A)
        run_a.vins = ["VIN_A2", "VIN_A1"]
        run_a.hooks.token()
        published.published.clear()

        for status in (401, 401, 403):
            run_a.hooks.on_auth_rejected(status)
        await accounts.reconcile()
        await accounts.reconcile()

        [rejected] = published.published
        assert rejected == TessieAccessChanged(
            account_id=ACCOUNT_A,
            token_id=event_a.token_id,
            access="rejected",
            vehicle_ids=("VIN_A1", "VIN_A2"),
            http_status=401,
            observed_at=NOW,
        )
        assert run_a.stopped
        assert accounts.polled_accounts == [ACCOUNT_B]

    async def test_a_new_token_after_a_refusal_is_polled_and_its_acceptance_published(
        self,
        accounts: AccountPollers,
        vault: Vault,
        runs: Runs,
        published: RecordingPublisher[TessieAccessChanged],
    ) -> None:
        accounts.on_token_changed(ACCOUNT_A, registered(vault, ACCOUNT_A, TOKEN_A))
        await accounts.reconcile()
        first = runs.running(ACCOUNT_A)
        first.hooks.token()
        first.hooks.on_auth_rejected(401)
        await accounts.reconcile()

        renewed = registered(vault, ACCOUNT_A, "the-renewed-token-77", vehicle_ids=("VIN_A1",))
        accounts.on_token_changed(ACCOUNT_A, renewed)
        await accounts.reconcile()
        second = runs.running(ACCOUNT_A)
        second.hooks.token()
        second.hooks.on_auth_accepted()
        second.hooks.on_auth_accepted()
        await accounts.reconcile()

        assert [(e.access, e.token_id) for e in published.published] == [
            ("rejected", first_token_id(published)),
            ("accepted", renewed.token_id),
        ]
        assert published.published[-1].vehicle_ids == ("VIN_A1",)
        assert published.published[-1].http_status is None

    async def test_an_access_already_published_before_a_restart_is_not_published_again(
        self,
        accounts: AccountPollers,
        vault: Vault,
        runs: Runs,
        published: RecordingPublisher[TessieAccessChanged],
    ) -> None:
        event = registered(vault, ACCOUNT_A, TOKEN_A)
        accounts.on_access_known(
            TessieAccessChanged(
                account_id=ACCOUNT_A, token_id=event.token_id, access="accepted", observed_at=NOW
            )
        )
        accounts.on_token_changed(ACCOUNT_A, event)
        await accounts.reconcile()
        run = runs.running(ACCOUNT_A)

        run.hooks.token()
        run.hooks.on_auth_accepted()
        await accounts.reconcile()

        assert published.published == []

    async def test_gauges_count_polled_and_refused_accounts_without_their_ids(
        self, accounts: AccountPollers, vault: Vault, runs: Runs, registry: CollectorRegistry
    ) -> None:
        accounts.on_token_changed(ACCOUNT_A, registered(vault, ACCOUNT_A, TOKEN_A))
        accounts.on_token_changed(ACCOUNT_B, registered(vault, ACCOUNT_B, TOKEN_B))
        await accounts.reconcile()
        run_b = runs.running(ACCOUNT_B)
        run_b.hooks.token()
        run_b.hooks.on_auth_rejected(403)
        await accounts.reconcile()

        assert registry.get_sample_value("tc_ingest_accounts_polled") == 1
        assert registry.get_sample_value("tc_ingest_accounts_rejected") == 1
        exposed = str(list(registry.collect()))
        assert str(ACCOUNT_A) not in exposed
        assert str(ACCOUNT_B) not in exposed


def first_token_id(published: RecordingPublisher[TessieAccessChanged]) -> UUID:
    return published.published[0].token_id


def _other_vault() -> Vault:
    key = base64.b64encode(bytes(range(100, 132))).decode()
    settings = VaultSettings.model_validate({"keys": {"1": key}, "current_version": 1})
    return Vault(LocalKeyring.from_settings(settings))


class _KeysThatGoAway:
    """The vault's key port, with KMS going away and coming back (as KmsUnavailableError)."""

    def __init__(self, keys: LocalKeyring) -> None:
        self._keys = keys
        self.away = False

    @property
    def current_version(self) -> int:
        return self._keys.current_version

    def wrap(self, version: int, data_key: bytes, aad: bytes) -> bytes:
        return self._keys.wrap(version, data_key, aad)

    def unwrap(self, version: int, wrapped: bytes, aad: bytes) -> bytes:
        if self.away:
            raise KmsUnavailableError("Decrypt", version, "ThrottlingException")
        return self._keys.unwrap(version, wrapped, aad)


class TestOverTheBroker:
    """The token topic's subscription (FastStream's in-memory TestKafkaBroker)."""

    async def test_registered_tokens_and_a_tombstone_reach_the_supervisor(
        self, accounts: AccountPollers, vault: Vault
    ) -> None:
        broker = KafkaBroker()
        broker.include_router(build_router(None, accounts))
        event_a = registered(vault, ACCOUNT_A, TOKEN_A)
        event_b = registered(vault, ACCOUNT_B, TOKEN_B)

        async with TestKafkaBroker(broker) as br:
            for event in (event_a, event_b):
                await br.publish(event, TESSIE_TOKEN_CHANGED_V1, key=event.kafka_key())
            await accounts.reconcile()
            polled_before = accounts.polled_accounts
            await br.publish(None, TESSIE_TOKEN_CHANGED_V1, key=str(ACCOUNT_A).encode())
            await accounts.reconcile()

        assert polled_before == [ACCOUNT_A, ACCOUNT_B]
        assert accounts.polled_accounts == [ACCOUNT_B]
        assert accounts.token_of(ACCOUNT_B) == TOKEN_B

"""The customer accounts' pollers: one set of Tessie loops per account with a usable token.

Each account's token arrives as ciphertext (``TessieTokenChanged`` on a compacted topic) and
is kept as ciphertext. Its pollers get a Tessie client whose token provider opens the newest
sealed token of the account right before each request and registers it as a secret with the
logging, so the plaintext lives only for one request and never reaches a log line. A new
token is therefore used from the next request on, without restarting anything.

A supervisor task reconciles which accounts' pollers run (``domain.accounts``) whenever a
token changes or Tessie refuses one, and at least every ``reconcile_interval_s``:

- revoked (or erased): the account's pollers stop at once;
- refused (401/403): ``TessieAccessChanged(rejected)`` with the account's vehicles, and its
  pollers stop until the account registers another token; other accounts go on;
- a token accepted that was not known to be (a new one, or after a refusal):
  ``TessieAccessChanged(accepted)``.
"""

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from uuid import UUID

from tc_common.clock import Clock
from tc_common.events import TessieAccessChanged, TessieTokenChanged
from tc_common.logging import register_secret
from tc_ingest.domain.accounts import (
    AccessSeen,
    accounts_to_poll,
    affected_vehicles,
    is_access_news,
    reconcile_pollers,
)
from tc_ingest.domain.history import HistoryKind
from tc_ingest.errors import TessieError
from tc_ingest.metrics import AccountMetrics
from tc_ingest.ports import EventPublisher
from tc_vault import SealedToken, Vault, VaultError
from tc_vault_kms import KmsUnavailableError

log = logging.getLogger(__name__)


class AccountTokenUnavailableError(TessieError):
    """The account has no token to send (revoked meanwhile, or it does not open)."""


class AccountRun:
    """The running pollers of one account (built by the composition root)."""

    def __init__(
        self,
        start: Callable[[], Awaitable[None]],
        stop: Callable[[], Awaitable[None]],
        vehicles: Callable[[], Sequence[str]],
        sample_ages: Callable[[], list[float]],
        covered_ages: Callable[[HistoryKind], list[float]],
    ) -> None:
        self.start = start
        self.stop = stop
        self.vehicles = vehicles
        self.sample_ages = sample_ages
        self.covered_ages = covered_ages


@dataclass(frozen=True)
class AccountHooks:
    """What an account's pollers are handed: where the token comes from and whom to tell
    about Tessie's answer to it."""

    account_id: UUID
    token: Callable[[], str]
    on_auth_rejected: Callable[[int], None]
    on_auth_accepted: Callable[[], None]


RunFactory = Callable[[AccountHooks], AccountRun]


@dataclass(frozen=True)
class _Registered:
    token_id: UUID
    sealed: SealedToken
    vehicle_ids: tuple[str, ...]


class AccountPollers:
    """Runs the pollers of every account with a usable token; see the module docstring."""

    def __init__(
        self,
        vault: Vault | None,
        make_run: RunFactory,
        access_publisher: EventPublisher,
        *,
        clock: Clock,
        metrics: AccountMetrics,
        reconcile_interval_s: float,
    ) -> None:
        self._vault = vault
        self._make_run = make_run
        self._publisher = access_publisher
        self._clock = clock
        self._metrics = metrics
        self._interval_s = reconcile_interval_s
        self._registered: dict[UUID, _Registered] = {}
        # The token id each account's last request was sent with.
        self._in_use: dict[UUID, UUID] = {}
        self._rejected: dict[UUID, AccessSeen] = {}
        self._access: dict[UUID, AccessSeen] = {}
        self._outbox: dict[UUID, TessieAccessChanged] = {}
        self._runs: dict[UUID, AccountRun] = {}
        self._unreadable: set[UUID] = set()
        # Accounts whose token KMS could not open just now (logged once per outage).
        self._keys_away: set[UUID] = set()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        metrics.accounts_polled.set_function(lambda: len(self._runs))
        metrics.accounts_rejected.set_function(lambda: len(self._rejected))

    # what the Kafka handlers tell

    def on_token_changed(self, account_id: UUID, event: TessieTokenChanged | None) -> None:
        """The newest token message of an account: registered, revoked, or None (erased)."""
        if event is None or event.status == "revoked" or event.sealed_token is None:
            if self._registered.pop(account_id, None) is not None:
                log.info("account %s: Tessie token revoked, polling stops", account_id)
            self._rejected.pop(account_id, None)
            self._wake.set()
            return
        if self._vault is None:
            log.error(
                "account %s registered a Tessie token, but ingest has no vault keys "
                "(INGEST_VAULT__* or INGEST_VAULT_KMS__*): the account is not polled",
                account_id,
            )
            return
        sealed = SealedToken.from_json_dict(event.sealed_token.model_dump(mode="json"))
        previous = self._registered.get(account_id)
        self._registered[account_id] = _Registered(event.token_id, sealed, event.vehicle_ids)
        self._unreadable.discard(account_id)
        if previous is None or previous.token_id != event.token_id:
            log.info("account %s: Tessie token %s registered", account_id, event.token_id)
        self._wake.set()

    def on_access_known(self, event: TessieAccessChanged) -> None:
        """What was last published about an account's token (read back at start), so a
        restart does not say it again."""
        if event.account_id in self._outbox:
            # A newer finding of this process is still to be published: it wins.
            return
        self._access[event.account_id] = AccessSeen(event.token_id, event.access, event.http_status)

    # lifecycle

    async def start(self) -> None:
        if self._vault is None:
            log.info("no vault keys (INGEST_VAULT__KEYS): customer accounts' tokens are not polled")
        if self._task is None:
            self._task = asyncio.create_task(self._supervise(), name="account-supervisor")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for account_id in list(self._runs):
            await self._stop_run(account_id)

    # state, for metrics and tests

    @property
    def polled_accounts(self) -> list[UUID]:
        return sorted(self._runs)

    def vehicles_of(self, account_id: UUID) -> list[str]:
        run = self._runs.get(account_id)
        return sorted(run.vehicles()) if run else []

    def sample_ages(self) -> list[float]:
        return [age for run in list(self._runs.values()) for age in run.sample_ages()]

    def covered_ages(self, kind: HistoryKind) -> list[float]:
        return [age for run in list(self._runs.values()) for age in run.covered_ages(kind)]

    # the token provider and Tessie's answers, per account

    def token_of(self, account_id: UUID) -> str:
        """The account's newest token, opened now. Raises ``AccountTokenUnavailableError``."""
        registered = self._registered.get(account_id)
        if registered is None or self._vault is None:
            raise AccountTokenUnavailableError(f"account {account_id} has no Tessie token")
        try:
            token = self._vault.open(registered.sealed)
        except KmsUnavailableError as error:
            # KMS away or throttling: the token is fine, the next request tries again. Not
            # "unreadable": that would hide a real failure of this token later on.
            if account_id not in self._keys_away:
                log.warning(
                    "account %s: its Tessie token cannot be opened now: %s", account_id, error
                )
                self._keys_away.add(account_id)
            raise AccountTokenUnavailableError(
                f"account {account_id}: Tessie token {registered.token_id} cannot be opened now"
            ) from None
        except VaultError as error:
            # The error names account, token id and key version, never bytes.
            if account_id not in self._unreadable:
                log.error("account %s: its Tessie token does not open: %s", account_id, error)
                self._unreadable.add(account_id)
                self._metrics.tokens_unreadable.inc()
            raise AccountTokenUnavailableError(
                f"account {account_id}: Tessie token {registered.token_id} does not open"
            ) from None
        self._keys_away.discard(account_id)
        register_secret(token)
        self._in_use[account_id] = registered.token_id
        return token

    def note_rejected(self, account_id: UUID, http_status: int) -> None:
        token_id = self._in_use.get(account_id)
        if token_id is None or account_id in self._rejected:
            return
        self._rejected[account_id] = AccessSeen(token_id, "rejected", http_status)
        log.warning(
            "account %s: Tessie refused token %s (HTTP %d): polling stops until a new token "
            "is registered",
            account_id,
            token_id,
            http_status,
        )
        self._wake.set()

    def note_accepted(self, account_id: UUID) -> None:
        token_id = self._in_use.get(account_id)
        if token_id is None:
            return
        seen = AccessSeen(token_id, "accepted")
        if is_access_news(self._access.get(account_id), seen):
            registered = self._registered.get(account_id)
            listed = registered.vehicle_ids if registered else ()
            self._queue_access(
                account_id, seen, affected_vehicles(self.vehicles_of(account_id), listed)
            )
            self._wake.set()

    # reconciling

    async def reconcile(self) -> None:
        """Start and stop pollers as the tokens and Tessie's answers say; publish news."""
        registered = {a: r.token_id for a, r in self._registered.items()}
        # A refusal of a token the account has replaced meanwhile is history.
        for account_id, seen in list(self._rejected.items()):
            if registered.get(account_id) != seen.token_id:
                del self._rejected[account_id]
        rejected_ids = {a: seen.token_id for a, seen in self._rejected.items()}
        changes = reconcile_pollers(accounts_to_poll(registered, rejected_ids), self._runs)
        for account_id in sorted(changes.stop):
            refusal = self._rejected.get(account_id)
            if refusal is not None and is_access_news(self._access.get(account_id), refusal):
                run = self._runs[account_id]
                listed = self._registered[account_id].vehicle_ids
                self._queue_access(account_id, refusal, affected_vehicles(run.vehicles(), listed))
            await self._stop_run(account_id)
        for account_id in sorted(changes.start):
            run = self._make_run(self._hooks(account_id))
            self._runs[account_id] = run
            await run.start()
            log.info("account %s: polling its Tessie vehicles", account_id)
        await self._publish_outbox()

    def _hooks(self, account_id: UUID) -> AccountHooks:
        return AccountHooks(
            account_id=account_id,
            token=lambda: self.token_of(account_id),
            on_auth_rejected=lambda status: self.note_rejected(account_id, status),
            on_auth_accepted=lambda: self.note_accepted(account_id),
        )

    async def _stop_run(self, account_id: UUID) -> None:
        run = self._runs.pop(account_id)
        await run.stop()
        self._in_use.pop(account_id, None)
        log.info("account %s: polling stopped", account_id)

    def _queue_access(self, account_id: UUID, seen: AccessSeen, vehicles: Sequence[str]) -> None:
        self._access[account_id] = seen
        self._outbox[account_id] = TessieAccessChanged(
            account_id=account_id,
            token_id=seen.token_id,
            access=seen.access,
            vehicle_ids=tuple(vehicles),
            http_status=seen.http_status,
            observed_at=self._clock.now(),
        )

    async def _publish_outbox(self) -> None:
        for account_id, event in list(self._outbox.items()):
            try:
                await self._publisher.publish(event)
            except Exception as error:
                log.warning(
                    "account %s: TessieAccessChanged not published yet (%s); retried",
                    account_id,
                    type(error).__name__,
                )
                return
            if self._outbox.get(account_id) is event:
                del self._outbox[account_id]

    async def _supervise(self) -> None:
        while True:
            self._wake.clear()
            try:
                await self.reconcile()
            except Exception:
                log.exception("reconciling the accounts' pollers failed; retried")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self._interval_s)

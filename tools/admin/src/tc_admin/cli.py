"""``tc-admin``: the commands, their output, and what an operator is told when something fails.

Exit codes: 0 done; 2 bad input (arguments, settings, a change refused), with a message and no
traceback; 1 the broker or the database failed. A change whose publish failed after its commit
is saved: the message says so and how to publish it again (re-running the same command does,
as every change is idempotent; after ``issue-key`` or ``rotate-keys``, ``republish
ACCOUNT_ID``).
"""

import argparse
import asyncio
import contextlib
import re
import sys
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

import psycopg
from pydantic import ValidationError

from tc_admin.settings import AdminSettings
from tc_common.events.accounts import AccountChanged, ApiKeyChanged, TessieTokenChanged
from tc_common.events.base import Event
from tc_common.events.vpn import DEVICE_NAME_PATTERN, AccessRequestKind, DeviceAccessRequested
from tc_common.publishing import PublishFailedError, prepare, publish
from tc_common.topics import (
    ACCOUNT_CHANGED_V1,
    API_KEY_CHANGED_V1,
    TESSIE_TOKEN_CHANGED_V1,
    VPN_REQUESTS_V1,
)
from tc_db import accounts, erasure, export, invitations, tokens, vpn
from tc_vault import Vault, VaultError
from tc_vault_kms import keyring_from

BAD_INPUT = 2
FAILED = 1


def _uuid(text: str) -> uuid.UUID:
    try:
        return uuid.UUID(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an id (a UUID): {text!r}") from None


_DEVICE_NAME = re.compile(DEVICE_NAME_PATTERN)
DEVICE_NAME_MAX_LENGTH = 64
# The commands that ask the provisioner something about a device, and what they ask.
DEVICE_REQUESTS: dict[str, AccessRequestKind] = {
    "revoke-device": "revoke",
    "resend-profile": "resend_profile",
    "reissue-device": "reissue",
}


def _device_name(text: str) -> str:
    if len(text) > DEVICE_NAME_MAX_LENGTH or not _DEVICE_NAME.fullmatch(text):
        raise argparse.ArgumentTypeError(
            f"not a device name: {text!r} (1 to {DEVICE_NAME_MAX_LENGTH} characters: a letter "
            "or digit, then letters, digits, '.', '_' or '-')"
        )
    return text


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="tc-admin",
        description="Accounts, their vehicles, API keys, Tessie tokens and VPN devices; "
        "invitations; GDPR export and erasure. Settings: ADMIN_POSTGRES__URL, "
        "ADMIN_KAFKA__BOOTSTRAP_SERVERS (and ADMIN_KAFKA__* TLS/SASL); rotate-keys also "
        "ADMIN_VAULT__KEYS and ADMIN_VAULT__CURRENT_VERSION.",
    )
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    sub.add_parser("create-account", help="create (or find) the account of an email").add_argument(
        "email"
    )
    sub.add_parser("accounts", help="list accounts with vehicle and active-key counts")
    for name, what in (("link-vehicle", "give"), ("unlink-vehicle", "take")):
        c = sub.add_parser(name, help=f"{what} an account a vehicle")
        c.add_argument("account_id", type=_uuid)
        c.add_argument("vin")
    for name in ("suspend", "resume", "keys", "republish"):
        helps = {
            "suspend": "suspend an account",
            "resume": "make a suspended account active again",
            "keys": "list an account's API keys",
            "republish": "publish an account's, its keys' and its Tessie token's current "
            "state again",
        }
        sub.add_parser(name, help=helps[name]).add_argument("account_id", type=_uuid)
    issue = sub.add_parser("issue-key", help="issue an API key; it is shown once")
    issue.add_argument("account_id", type=_uuid)
    issue.add_argument("--label", default="", help="the customer's name for the key")
    sub.add_parser("revoke-key", help="revoke an API key").add_argument("key_id", type=_uuid)
    sub.add_parser(
        "revoke-token", help="revoke an account's Tessie token (its ciphertext is erased)"
    ).add_argument("account_id", type=_uuid)
    sub.add_parser(
        "rotate-keys",
        help="re-wrap every stored Tessie token under the current key-encryption key "
        "(the tokens are not decrypted) and publish each again",
    )
    sub.add_parser(
        "erase", help="erase an account and its vehicles' data (GDPR); cannot be undone"
    ).add_argument("account_id", type=_uuid)
    exp = sub.add_parser(
        "export", help="write everything stored of an account to a zip (GDPR), with progress"
    )
    exp.add_argument("account_id", type=_uuid)
    exp.add_argument("--out", type=Path, required=True, help="the zip file to write (new)")
    invite = sub.add_parser("invite", help="issue an invitation code; it is shown once")
    invite.add_argument(
        "--valid-days", type=_days, default=14, help="days until it expires (default 14)"
    )
    invite.add_argument("--label", default="", help="an operator's note, no personal data")
    sub.add_parser("invitations", help="list invitations: digest prefix, state, expiry")
    sub.add_parser("seats", help="list the beta's seats: each device admitted, its account")
    sub.add_parser(
        "devices",
        help="list an account's VPN device certificates: name, serial, state, reason, expiry",
    ).add_argument("account_id", type=_uuid)
    for name, what in (
        ("revoke-device", "revoke every certificate of an account's device (it cannot connect)"),
        ("resend-profile", "email a device's newest valid OpenVPN profile to the account again"),
        (
            "reissue-device",
            "issue a device a new certificate and email its profile; the old ones are revoked",
        ),
    ):
        c = sub.add_parser(name, help=f"{what}; the provisioner does it")
        c.add_argument("account_id", type=_uuid)
        c.add_argument("device", type=_device_name, help="the device's name, any case")
    sub.add_parser(
        "withdraw-invitation", help="withdraw an unused invitation before it expires"
    ).add_argument("digest_prefix", help="8 or more hex digits of its digest (see invitations)")
    return p


def _days(text: str) -> float:
    try:
        days = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of days: {text!r}") from None
    if not 0 < days <= invitations.MAX_VALIDITY.days:
        raise argparse.ArgumentTypeError(
            f"an invitation is valid for more than 0 and at most "
            f"{invitations.MAX_VALIDITY.days} days"
        )
    return days


def _invitation_line(row: invitations.InvitationRow, now: datetime) -> str:
    return (
        f"{row.digest[:12]}  {row.state(now):<9} issued {row.issued_at.isoformat()}  "
        f"expires {row.expires_at.isoformat()}  label {row.label!r}"
    )


# Commands that change nothing on the bus: no broker needed.
_LOCAL = (
    "accounts",
    "keys",
    "export",
    "invite",
    "invitations",
    "seats",
    "withdraw-invitation",
    "devices",
)


def _token_line(event: TessieTokenChanged) -> str:
    version = event.sealed_token.kek_version if event.sealed_token else "-"
    return f"token {event.token_id} account {event.account_id} {event.status} key version {version}"


async def _rotate_keys(settings: AdminSettings, out: TextIO) -> None:
    """Re-wrap, store (only if unchanged meanwhile) and publish, one token at a time, so that
    what is printed as done is done, and an interrupted run is finished by running it again."""
    keyring = keyring_from(settings.vault, settings.vault_kms)
    if keyring is None:
        raise accounts.InvalidInputError(
            "rotate-keys needs ADMIN_VAULT__KEYS and ADMIN_VAULT__CURRENT_VERSION (or, keys in "
            "AWS KMS, ADMIN_VAULT_KMS__REGION, ADMIN_VAULT_KMS__KEY_IDS and "
            "ADMIN_VAULT_KMS__CURRENT_VERSION)"
        )
    vault = Vault(keyring)
    current = keyring.current_version
    async with await psycopg.AsyncConnection.connect(
        settings.postgres.url.get_secret_value(), autocommit=True
    ) as conn:
        pending = await tokens.tokens_to_rewrap(conn, current)
        print(f"{len(pending)} token(s) to re-wrap under key version {current}", file=out)
        for index, stored in enumerate(pending, start=1):
            where = f"[{index}/{len(pending)}] account {stored.account_id}"
            try:
                rewrapped = vault.rewrap(stored.sealed)
            except VaultError as error:
                raise accounts.InvalidInputError(
                    f"{where}: cannot re-wrap ({error}); is key version {stored.kek_version} "
                    "in ADMIN_VAULT__KEYS?"
                ) from None
            event = await tokens.store_rewrapped(conn, stored, rewrapped, at=settings.clock().now())
            if event is None:
                print(f"{where}: changed meanwhile (re-registered or revoked), skipped", file=out)
                continue
            try:
                await publish(settings.kafka, [(TESSIE_TOKEN_CHANGED_V1, event)])
            except PublishFailedError as error:
                raise PublishFailedError(
                    f"{where} was re-wrapped but NOT published ({error}); run tc-admin "
                    f"republish {stored.account_id}, then rotate-keys again"
                ) from error
            print(f"{where}: key version {stored.kek_version} -> {current}, published", file=out)
        left = await tokens.tokens_to_rewrap(conn, current)
    if left:
        print(f"{len(left)} token(s) still on other key versions: run rotate-keys again", file=out)
    else:
        print(
            f"every token is wrapped by key version {current}; once ingest has read "
            "accounts.tessie_tokens.v1, older key versions may be removed",
            file=out,
        )


def _certificate_line(row: vpn.DeviceRow, now: datetime) -> str:
    expiry = "expired" if row.not_after <= now else "expires"
    return (
        f"{row.device_name or '(erased)':<24} serial {row.serial_hex[:12]:<12}  "
        f"{row.state:<8} reason {row.reason or '-':<17} {expiry} {row.not_after.isoformat()}"
    )


async def _device_request(
    conn: psycopg.AsyncConnection[Any], args: argparse.Namespace, at: datetime, out: TextIO
) -> DeviceAccessRequested:
    """The request for the provisioner, once the account is known to have had the device
    (the provisioner would drop it without a word otherwise)."""
    kind = DEVICE_REQUESTS[args.command]
    rows = await vpn.devices_of(conn, args.account_id, device_name=args.device)
    if not rows:
        raise accounts.InvalidInputError(
            f"account {args.account_id} has no device named {args.device!r} "
            f"(tc-admin devices {args.account_id} lists them); nothing was requested"
        )
    if kind == "resend_profile" and not any(r.state == "issued" and r.not_after > at for r in rows):
        raise accounts.InvalidInputError(
            f"device {rows[0].device_name!r} has no valid certificate (revoked, on hold or "
            "expired), so no profile to send; reissue-device issues a new one"
        )
    request = DeviceAccessRequested(
        request_id=uuid.uuid4(),
        account_id=args.account_id,
        device_name=rows[0].device_name,  # the newest certificate's spelling
        kind=kind,
        requested_by="operator",
        requested_at=at,
    )
    print(
        f"request {request.request_id}: {kind} device {request.device_name!r} of account "
        f"{args.account_id}; the provisioner acts on it (tc-admin devices shows the outcome)",
        file=out,
    )
    return request


def _account_line(event: AccountChanged) -> str:
    vehicles = ",".join(event.vehicle_ids) or "-"
    return f"account {event.account_id} {event.state} vehicles: {vehicles}"


def _key_line(event: ApiKeyChanged) -> str:
    revoked = event.revoked_at.isoformat() if event.revoked_at else "-"
    return f"key {event.key_id} account {event.account_id} label {event.label!r} revoked {revoked}"


async def _run(args: argparse.Namespace, settings: AdminSettings, out: TextIO) -> list[Any]:
    """Do the command: the database change, committed, and what to publish (topic, event)."""
    at = settings.clock().now()
    async with await psycopg.AsyncConnection.connect(
        settings.postgres.url.get_secret_value(), autocommit=True
    ) as conn:
        match args.command:
            case "accounts":
                for a in await accounts.list_accounts(conn):
                    print(
                        f"{a.account_id}  {a.state:<15} vehicles {a.vehicles:<3} "
                        f"active keys {a.active_keys:<3} created {a.created_at.isoformat()}  "
                        f"{a.email}",
                        file=out,
                    )
                return []
            case "keys":
                for k in await accounts.list_keys(conn, args.account_id):
                    print(
                        f"{k.key_id}  label {k.label!r}  issued {k.issued_at.isoformat()}  "
                        f"revoked {k.revoked_at.isoformat() if k.revoked_at else '-'}  "
                        f"last used {k.last_used_at.isoformat() if k.last_used_at else '-'}",
                        file=out,
                    )
                return []
            case "export":
                if args.out.exists():
                    raise accounts.InvalidInputError(f"{args.out} exists: give a new file")

                def shown(name: str, done: int, total: int) -> None:
                    print(f"  {name}: {done} of {total} rows", file=out, flush=True)

                try:
                    manifest = await export.export_account(
                        conn, args.account_id, args.out, at=at, progress=shown
                    )
                except BaseException:
                    args.out.unlink(missing_ok=True)  # no half archive left behind
                    raise
                rows = sum(f["rows"] for f in manifest["files"])
                print(
                    f"exported {rows} rows in {len(manifest['files'])} files to {args.out}",
                    file=out,
                )
                return []
            case "invite":
                issued = await invitations.issue_invitation(
                    conn, at=at, valid_for=timedelta(days=args.valid_days), label=args.label
                )
                # Shown now, once: only its digest is stored.
                print(
                    f"invitation {issued.digest[:12]} expires {issued.expires_at.isoformat()}",
                    file=out,
                )
                print(issued.code, file=out)
                print("This code cannot be shown again: hand it over now.", file=out)
                return []
            case "seats":
                seats = await invitations.list_seats(conn)
                for seat in seats:
                    print(
                        f"{seat.decided_at.isoformat()}  account {seat.account_id or '(erased)'}"
                        f"  device {seat.device!r}",
                        file=out,
                    )
                print(f"{len(seats)} seat(s) taken", file=out)
                return []
            case "invitations":
                for row in await invitations.list_invitations(conn):
                    print(_invitation_line(row, at), file=out)
                return []
            case "withdraw-invitation":
                row = await invitations.withdraw_invitation(conn, args.digest_prefix, at=at)
                print(_invitation_line(row, at), file=out)
                return []
            case "devices":
                rows = sorted(
                    await vpn.devices_of(conn, args.account_id),
                    key=lambda r: (r.device_name.lower(), -r.issued_at.timestamp()),
                )
                for row in rows:
                    print(_certificate_line(row, at), file=out)
                print(f"{len(rows)} certificate(s)", file=out)
                return []
            case "revoke-device" | "resend-profile" | "reissue-device":
                return [(VPN_REQUESTS_V1, await _device_request(conn, args, at, out))]
            case "erase":
                requested = await erasure.request_erasure(conn, args.account_id, at=at)
                print(_account_line(requested.account), file=out)
                print(
                    "Erasure requested: the services erase the account's data and the store "
                    "marks it erased once every part is done (tc-admin accounts shows it).",
                    file=out,
                )
                return [(ACCOUNT_CHANGED_V1, requested.account)] + [
                    (API_KEY_CHANGED_V1, k) for k in requested.keys
                ]
            case "create-account":
                event: Event = await accounts.create_account(conn, args.email, at=at)
            case "link-vehicle":
                event = await accounts.link_vehicle(conn, args.account_id, args.vin, at=at)
            case "unlink-vehicle":
                event = await accounts.unlink_vehicle(conn, args.account_id, args.vin, at=at)
            case "suspend":
                event = await accounts.suspend(conn, args.account_id, at=at)
            case "resume":
                event = await accounts.resume(conn, args.account_id, at=at)
            case "revoke-key":
                event = await accounts.revoke_key(conn, args.key_id, at=at)
            case "issue-key":
                key = await accounts.issue_key(conn, args.account_id, label=args.label, at=at)
                # Shown now, once, whatever happens next: it is valid from the commit on, and
                # stored nowhere in clear.
                print(_key_line(key.event), file=out)
                print(key.key, file=out)
                print("This key cannot be shown again: hand it over now.", file=out)
                return [(API_KEY_CHANGED_V1, key.event)]
            case "republish":
                account, keys = await accounts.current_events(conn, args.account_id)
                print(_account_line(account), file=out)
                token = await tokens.current_token_event(conn, args.account_id, at=at)
                republished: list[tuple[str, Event]] = [(ACCOUNT_CHANGED_V1, account)]
                republished += [(API_KEY_CHANGED_V1, k) for k in keys]
                if token is not None:
                    print(_token_line(token), file=out)
                    republished.append((TESSIE_TOKEN_CHANGED_V1, token))
                return republished
            case "revoke-token":
                revoked = await tokens.revoke_token(
                    conn, args.account_id, at=at, reason="revoked by an operator"
                )
                print(_token_line(revoked), file=out)
                return [(TESSIE_TOKEN_CHANGED_V1, revoked)]
            case _:  # pragma: no cover - argparse allows only the commands above
                raise accounts.InvalidInputError(f"unknown command {args.command}")
    if isinstance(event, AccountChanged):  # the commands that change an account
        print(_account_line(event), file=out)
        return [(ACCOUNT_CHANGED_V1, event)]
    assert isinstance(event, ApiKeyChanged)
    print(_key_line(event), file=out)
    return [(API_KEY_CHANGED_V1, event)]


async def _main(args: argparse.Namespace, settings: AdminSettings, out: TextIO, err: TextIO) -> int:
    writes = args.command not in _LOCAL
    if writes:
        try:
            # Before the change: a broker that cannot be reached leaves the database untouched.
            await prepare(
                settings.kafka,
                [ACCOUNT_CHANGED_V1, API_KEY_CHANGED_V1, TESSIE_TOKEN_CHANGED_V1, VPN_REQUESTS_V1],
            )
        except PublishFailedError as error:
            print(f"tc-admin: nothing changed: {error}", file=err)
            return FAILED
    if args.command == "rotate-keys":
        try:
            await _rotate_keys(settings, out)
        except accounts.AccountError as error:
            print(f"tc-admin: {error}", file=err)
            return BAD_INPUT
        except psycopg.Error as error:
            print(f"tc-admin: database: {type(error).__name__}: {error}", file=err)
            return FAILED
        except PublishFailedError as error:
            print(f"tc-admin: {error}", file=err)
            return FAILED
        return 0
    try:
        messages = await _run(args, settings, out)
    except accounts.AccountError as error:
        print(f"tc-admin: {error}", file=err)
        return BAD_INPUT
    except psycopg.Error as error:
        print(f"tc-admin: database: {type(error).__name__}: {error}", file=err)
        return FAILED
    if not messages:
        return 0
    try:
        await publish(settings.kafka, messages)
    except PublishFailedError as error:
        if args.command in DEVICE_REQUESTS:
            # Nothing was saved: the request exists only on the bus.
            print(
                f"tc-admin: the request was NOT published ({error}); nothing was requested, "
                "run the same command again",
                file=err,
            )
            return FAILED
        again = (
            f"tc-admin republish {args.account_id}"
            if args.command == "issue-key"
            else "the same command again"
        )
        print(
            f"tc-admin: the change is saved but was NOT published ({error}); run {again} "
            "to publish it",
            file=err,
        )
        return FAILED
    return 0


def main(
    argv: Sequence[str] | None = None, *, out: TextIO | None = None, err: TextIO | None = None
) -> int:
    out, err = out or sys.stdout, err or sys.stderr
    try:
        # argparse writes its usage errors to sys.stderr: to the caller's ``err`` instead.
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
            args = parser().parse_args(argv)
    except SystemExit as exit_:
        return int(exit_.code or 0)
    try:
        settings = AdminSettings()
    except ValidationError as error:
        problems = "; ".join(
            f"ADMIN_{'__'.join(str(p).upper() for p in e['loc'])}: {e['msg']}"
            for e in error.errors()
        )
        print(f"tc-admin: settings: {problems}", file=err)
        return BAD_INPUT
    return asyncio.run(_main(args, settings, out, err))

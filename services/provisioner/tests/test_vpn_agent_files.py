"""The VPN agent's files: the CRL and the deny list written where the server reads them, never
replaced by an older CRL (a redelivered message after a newer one)."""

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509

from tc_common.events import VpnCrlPublished
from tc_provisioner.vpn_agent.adapters import CRL_FILE, DENY_LIST_FILE, ServerFiles
from tc_vpn import pki

NOW = datetime(2026, 12, 10, 6, 30, tzinfo=UTC)
CA = pki.create_ca("test CA", NOW)
AUTHORITY = uuid.uuid4()


def crl(number: int, serials: list[int]) -> VpnCrlPublished:
    signed = pki.create_crl(CA, [pki.RevokedCertificate(s, NOW) for s in serials], NOW)
    return VpnCrlPublished(
        authority_id=AUTHORITY,
        crl_number=number,
        crl_pem=signed.crl_pem.decode(),
        revoked_serials_hex=tuple(f"{s:x}" for s in serials),
        this_update=signed.last_update,
        next_update=NOW + timedelta(days=30),
    )


def listed(directory: Path) -> set[int]:
    crl = x509.load_pem_x509_crl((directory / CRL_FILE).read_bytes())
    return {entry.serial_number for entry in crl}


def test_a_crl_is_written_with_its_deny_list(tmp_path: Path) -> None:
    files = ServerFiles(tmp_path)
    assert files.apply(crl(1, [0xABC, 0x12]))
    assert listed(tmp_path) == {0xABC, 0x12}
    assert (tmp_path / DENY_LIST_FILE).read_text().split() == ["12", "abc"]


def test_an_older_crl_delivered_again_does_not_undo_a_newer_revocation(tmp_path: Path) -> None:
    files = ServerFiles(tmp_path)
    files.apply(crl(2, [0xABC, 0xDEF]))
    assert not files.apply(crl(1, [0xABC]))
    assert listed(tmp_path) == {0xABC, 0xDEF}
    assert "def" in (tmp_path / DENY_LIST_FILE).read_text().split()


def test_a_crl_that_lists_nobody_empties_the_deny_list(tmp_path: Path) -> None:
    files = ServerFiles(tmp_path)
    files.apply(crl(1, [0xABC]))
    files.apply(crl(2, []))
    assert listed(tmp_path) == set()
    assert (tmp_path / DENY_LIST_FILE).read_text() == ""


async def test_a_revocation_waits_for_the_crl_that_lists_it(tmp_path: Path) -> None:
    files = ServerFiles(tmp_path)
    waiting = asyncio.create_task(files.wait_listed("abc", timeout_s=5))
    await asyncio.sleep(0.05)
    assert not waiting.done()
    await files.applied(crl(1, [0xABC]))
    assert await waiting


async def test_a_crl_that_never_comes_lets_the_revocation_go_on_after_the_wait(
    tmp_path: Path,
) -> None:
    files = ServerFiles(tmp_path)
    await files.applied(crl(1, [0xDEF]))
    assert not await files.wait_listed("abc", timeout_s=0.1)

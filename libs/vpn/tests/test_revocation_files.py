"""The CRL and the deny list are replaced whole: a reader sees the old file or the new one."""

import stat
from pathlib import Path

import pytest

from tc_vpn import pki, revocation, verify_hook

from .support import NOW


def test_rewrite_replaces_the_file_and_leaves_no_temporary_behind(tmp_path: Path) -> None:
    path = tmp_path / "crl.pem"
    path.write_bytes(b"old")
    before = path.stat().st_ino
    revocation.write_atomically(path, b"new")
    assert path.read_bytes() == b"new"
    assert path.stat().st_ino != before  # a new file renamed over the old one, not rewritten
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    assert sorted(p.name for p in tmp_path.iterdir()) == ["crl.pem"]


def test_deny_list_holds_each_serial_once_in_hex_and_reads_back(tmp_path: Path) -> None:
    path = tmp_path / "deny-list"
    revocation.write_deny_list(path, [0xABC, 0x1F, 0xABC])
    assert path.read_text() == "1f\nabc\n"
    assert verify_hook.parse_deny_list(path.read_text()) == {"1f", "abc"}


def test_crl_file_is_written_and_something_else_is_refused(tmp_path: Path, ca: pki.Issued) -> None:
    crl = pki.create_crl(ca, [], NOW)
    revocation.write_crl(tmp_path / "crl.pem", crl.crl_pem)
    assert (tmp_path / "crl.pem").read_bytes() == crl.crl_pem
    with pytest.raises(ValueError, match="not a PEM CRL"):
        revocation.write_crl(tmp_path / "crl.pem", b"")
    assert (tmp_path / "crl.pem").read_bytes() == crl.crl_pem

"""The verify hook admits a key whose serial is not denied and refuses everything else, fails
closed, and runs as OpenVPN runs it: no PATH, three variables, no third-party import."""

import ast
import os
import subprocess
from pathlib import Path

import pytest

from tc_vpn import config, verify_hook
from tc_vpn.revocation import write_deny_list

SERIAL = 0x9C1E05F2A7B3D4E6F8091A2B3C4D5E6F
METADATA = f"cn=acct.phone;serial={SERIAL:x}".encode()


@pytest.fixture
def metadata_file(tmp_path: Path) -> Path:
    path = tmp_path / "metadata"
    path.write_bytes(METADATA)
    return path


def _env(metadata_file: Path, metadata_type: str = "0") -> dict[str, str]:
    return {
        "script_type": "tls-crypt-v2-verify",
        "metadata_type": metadata_type,
        "metadata_file": str(metadata_file),
    }


def _deny(tmp_path: Path, *serials: int) -> Path:
    path = tmp_path / "deny-list"
    write_deny_list(path, serials)
    return path


class TestDecision:
    def test_serial_not_on_the_deny_list_is_admitted(
        self, tmp_path: Path, metadata_file: Path
    ) -> None:
        status, _ = verify_hook.decide(_env(metadata_file), [str(_deny(tmp_path, 1, 2))])
        assert status == 0

    def test_serial_on_the_deny_list_is_refused(self, tmp_path: Path, metadata_file: Path) -> None:
        status, reason = verify_hook.decide(_env(metadata_file), [str(_deny(tmp_path, 1, SERIAL))])
        assert status == 1
        assert reason == f"serial {SERIAL:x} is on the deny list"

    def test_deny_list_written_by_hand_matches_despite_case_zeros_and_comments(
        self, tmp_path: Path, metadata_file: Path
    ) -> None:
        deny = tmp_path / "deny-list"
        deny.write_text(f"# revoked 2026-12-05\n\n  000{SERIAL:X}  # lost phone\n")
        assert verify_hook.decide(_env(metadata_file), [str(deny)])[0] == 1

    @pytest.mark.parametrize(
        "metadata",
        [b"cn=acct.phone", b"cn=a;serial=xyz", b"cn=a;serial=", b"\xff\xfe", b""],
        ids=["no-serial", "not-hex", "empty-serial", "not-ascii", "empty"],
    )
    def test_unparseable_metadata_is_refused(self, tmp_path: Path, metadata: bytes) -> None:
        path = tmp_path / "metadata"
        path.write_bytes(metadata)
        status, reason = verify_hook.decide(_env(path), [str(_deny(tmp_path))])
        assert status == 1
        assert "no hex serial" in reason

    def test_timestamp_metadata_is_refused(self, tmp_path: Path, metadata_file: Path) -> None:
        assert verify_hook.decide(_env(metadata_file, "1"), [str(_deny(tmp_path))])[0] == 1

    def test_missing_deny_list_refuses_everyone(self, tmp_path: Path, metadata_file: Path) -> None:
        status, reason = verify_hook.decide(_env(metadata_file), [str(tmp_path / "absent")])
        assert status == 1
        assert "cannot read the deny list" in reason

    def test_other_script_type_or_arguments_are_refused(
        self, tmp_path: Path, metadata_file: Path
    ) -> None:
        deny = str(_deny(tmp_path))
        assert verify_hook.decide({**_env(metadata_file), "script_type": "up"}, [deny])[0] == 1
        assert verify_hook.decide(_env(metadata_file), [])[0] == 1
        assert (
            verify_hook.decide(
                {"script_type": "tls-crypt-v2-verify", "metadata_type": "0"}, [deny]
            )[0]
            == 1
        )


class TestAsOpenvpnRunsIt:
    @pytest.mark.parametrize(("denied", "exit_status"), [((), 0), ((SERIAL,), 1)])
    def test_hook_command_exits_by_the_deny_list_with_only_openvpns_environment(
        self, tmp_path: Path, metadata_file: Path, denied: tuple[int, ...], exit_status: int
    ) -> None:
        command = config.verify_hook_command(_deny(tmp_path, *denied))
        done = subprocess.run(
            command, env=_env(metadata_file), capture_output=True, text=True, check=False
        )
        assert done.returncode == exit_status, done.stderr
        assert ("on the deny list" in done.stderr) == bool(denied)

    def test_console_script_is_installed_and_refuses_a_denied_serial(
        self, tmp_path: Path, metadata_file: Path
    ) -> None:
        command = config.console_script_command(_deny(tmp_path, SERIAL))
        assert os.access(command[0], os.X_OK)
        done = subprocess.run(command, env=_env(metadata_file), capture_output=True, check=False)
        assert done.returncode == 1

    def test_hook_imports_only_the_standard_library(self) -> None:
        tree = ast.parse(Path(verify_hook.__file__).read_text())
        imported = {
            alias.name.split(".")[0]
            for node in ast.walk(tree)
            if isinstance(node, ast.Import)
            for alias in node.names
        } | {
            node.module.split(".")[0]
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom) and node.module
        }
        assert imported <= {"os", "sys", "collections"}

"""Publishing revocations to a running server: the CRL file and the verify hook's deny list.

Both files are replaced atomically (a temporary file in the same directory, fsynced, then
renamed over the old one): OpenVPN re-reads the CRL on the next handshake after the file's
mtime or size changes, and a half-written CRL would refuse every client; the hook reads the
deny list on every connection attempt.

Revoking does NOT end established sessions: disconnect them too
(``ManagementClient.disconnect_common_name``).
"""

import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

from tc_vpn.verify_hook import format_serial


def write_atomically(path: Path, data: bytes, *, mode: int = 0o644) -> None:
    """Replace ``path`` by ``data`` so that a reader sees the old or the new file, never a mix."""
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(descriptor, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)  # the rename itself survives a crash
    finally:
        os.close(directory)


def render_deny_list(serials: Iterable[int]) -> bytes:
    return "".join(f"{format_serial(s)}\n" for s in sorted(set(serials))).encode("ascii")


def write_deny_list(path: Path, serials: Iterable[int]) -> None:
    """The hook's deny list: one lower-case hex serial a line (an empty file denies nobody)."""
    write_atomically(path, render_deny_list(serials))


def write_crl(path: Path, crl_pem: bytes) -> None:
    if not crl_pem.startswith(b"-----BEGIN X509 CRL-----"):
        raise ValueError("not a PEM CRL")
    write_atomically(path, crl_pem)

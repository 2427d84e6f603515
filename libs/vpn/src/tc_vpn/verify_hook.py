"""The tls-crypt-v2 verify hook: refuse a device whose key serial is on the deny list.

OpenVPN (``tls-crypt-v2-verify CMD`` with ``script-security 2``) runs the command on every
connection attempt, synchronously, BEFORE the TLS handshake, with ``DENY_LIST`` as its
argument and only three variables in the environment: ``script_type``
(``tls-crypt-v2-verify``), ``metadata_type`` (``0`` for user metadata, ``1`` for a timestamp)
and ``metadata_file``. There is no ``PATH``: the command is an absolute path. The file holds the
metadata bytes as the key carries them (after the type byte; not base64), for our keys
``cn=<common name>;serial=<lower-case hex>``. Exit 0 admits the packet to TLS, anything else
drops it; what we write to stderr lands in OpenVPN's log.

Fails closed: a missing or unreadable deny list, a non-user metadata type or metadata without a
hex serial refuses the device. The CRL stays the authority (it is checked at TLS); the hook only
spares a revoked device the handshake.

This module imports nothing but the standard library, and nothing of ``tc_vpn``: it runs as
``python -I -S verify_hook.py DENY_LIST`` (``verify_hook_command``), or as the
``tc-vpn-verify`` console script, and must stay that way (figures below).

Measured on the 2-core test VM (OpenVPN 2.6.14, EC P-256, tc_testkit.vpn's namespaces):
connect time from client spawn to ``Initialization Sequence Completed``, 2 x 15 connects each
(median, range):

- no hook:                                             ~24 ms (21-44 ms)
- ``python -I -S verify_hook.py`` (``verify_hook_command``): ~49 ms (42-64 ms)
- the ``tc-vpn-verify`` console script (site, .pth files):  ~57 ms (48-69 ms)

The hook process alone: 23 ms (``-I -S``), 27 ms (console script); a Python that imports
``tc_vpn.pki`` takes 260 ms, which every connection attempt would pay if the hook imported it.
"""

import os
import sys
from collections.abc import Iterable, Mapping

SCRIPT_TYPE = "tls-crypt-v2-verify"
METADATA_TYPE_USER = "0"
MAX_METADATA_BYTES = 1024


def format_serial(serial: int) -> str:
    """A serial as the deny list and the metadata write it: lower-case hex, no leading zeros."""
    return f"{serial:x}"


def parse_deny_list(text: str) -> frozenset[str]:
    """The serials of a deny list: one hex serial a line; blank lines and ``#`` comments skipped."""
    serials = set()
    for line in text.splitlines():
        entry = line.split("#", 1)[0].strip().lower()
        if entry:
            serials.add(entry.lstrip("0") or "0")
    return frozenset(serials)


def serial_of_metadata(metadata: bytes) -> str | None:
    """The normalised hex serial in ``cn=...;serial=<hex>``, or None if there is none."""
    try:
        text = metadata.decode("ascii")
    except UnicodeDecodeError:
        return None
    for part in text.split(";"):
        name, sep, value = part.partition("=")
        if sep and name == "serial":
            value = value.strip().lower()
            if value and all(c in "0123456789abcdef" for c in value):
                return value.lstrip("0") or "0"
            return None
    return None


def decide(env: Mapping[str, str], args: Iterable[str]) -> tuple[int, str]:
    """The exit status and the reason for one invocation (0 admits)."""
    argv = list(args)
    if len(argv) != 1:
        return 1, "usage: tc-vpn-verify DENY_LIST"
    if env.get("script_type") != SCRIPT_TYPE:
        return 1, f"script_type is {env.get('script_type')!r}, not {SCRIPT_TYPE!r}"
    if env.get("metadata_type") != METADATA_TYPE_USER:
        return 1, f"metadata type {env.get('metadata_type')!r} is not user metadata"
    try:
        with open(env["metadata_file"], "rb") as file:
            metadata = file.read(MAX_METADATA_BYTES + 1)
    except (KeyError, OSError) as error:
        return 1, f"cannot read the metadata: {error}"
    serial = serial_of_metadata(metadata)
    if serial is None:
        return 1, f"metadata {metadata[:80]!r} has no hex serial"
    try:
        with open(argv[0], encoding="ascii") as file:
            denied = parse_deny_list(file.read())
    except (OSError, UnicodeDecodeError) as error:
        return 1, f"cannot read the deny list: {error}"
    if serial in denied:
        return 1, f"serial {serial} is on the deny list"
    return 0, f"serial {serial} admitted"


def main(argv: list[str] | None = None) -> int:
    status, reason = decide(os.environ, sys.argv[1:] if argv is None else argv)
    if status:
        sys.stderr.write(f"tc-vpn-verify: refused: {reason}\n")
    return status


if __name__ == "__main__":
    sys.exit(main())

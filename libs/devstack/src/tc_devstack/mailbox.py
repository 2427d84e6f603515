"""A mailbox for ``make run``: a local SMTP server that keeps every message as a file.

The provisioner emails each accepted device its OpenVPN profile; on one machine there is no
mail server to send it to, so this one accepts every message on 127.0.0.1 and writes it to
``<run-dir>/mail/NNNN-<recipient>.eml``, where a developer opens it (the profile is its
attachment). Development only: it checks nothing and relays nothing.
"""

import itertools
import re
import threading
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from tc_devstack.net import free_port

_NOT_IN_NAME = re.compile(r"[^A-Za-z0-9@._-]+")


class _Keeper:
    def __init__(self, directory: Path) -> None:
        self._directory = directory
        self._numbers = itertools.count(len(list(directory.glob("*.eml"))) + 1)
        self._lock = threading.Lock()

    async def handle_DATA(  # noqa: N802 (aiosmtpd's hook name)
        self, _server: SMTP, _session: Session, envelope: Envelope
    ) -> str:
        content: Any = envelope.content
        raw = content if isinstance(content, bytes) else str(content).encode()
        recipient = _NOT_IN_NAME.sub("_", envelope.rcpt_tos[0] if envelope.rcpt_tos else "nobody")
        with self._lock:
            path = self._directory / f"{next(self._numbers):04d}-{recipient}.eml"
        path.touch(mode=0o600)  # a profile holds a private key
        path.write_bytes(raw)
        return "250 kept"


class LocalMailbox:
    """``LocalMailbox(directory).start()``; ``host``/``port`` for the sender; ``stop()``."""

    host = "127.0.0.1"

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.port = 0
        self._controller: Controller | None = None

    def start(self) -> "LocalMailbox":
        self.directory.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self._controller = Controller(
            _Keeper(self.directory), hostname=self.host, port=self.port, server_hostname="localhost"
        )
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

"""Logging that never writes a secret.

Every handler installed by ``configure_logging`` runs records through ``RedactingFilter``:
bearer tokens, ``access_token=`` query values, passwords in connection URLs and any value
registered with ``register_secret`` are replaced by ``***`` before formatting reaches a sink.
"""

import logging
import re
import sys
from collections.abc import Iterable

_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]+"), r"\1***"),
    (re.compile(r"(?i)(access_token=)[^&\s'\"]+"), r"\1***"),
    (re.compile(r"(?i)(api[_-]?key[\"']?\s*[:=]\s*[\"']?)[^\s,'\"&]+"), r"\1***"),
    (re.compile(r"(?i)(postgres(?:ql)?://[^:/\s]+:)[^@\s]+(@)"), r"\1***\2"),
    (re.compile(r"(?i)(password=)[^&\s'\"]+"), r"\1***"),
)

_known_secrets: set[str] = set()


def register_secret(value: str) -> None:
    """Make every later log line replace this exact value (min. 6 chars) with ``***``."""
    if len(value) >= 6:
        _known_secrets.add(value)


def redact(text: str, extra_secrets: Iterable[str] = ()) -> str:
    for secret in (*_known_secrets, *extra_secrets):
        if secret:
            text = text.replace(secret, "***")
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        record.msg = redact(message)
        record.args = None
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


def configure_logging(service: str, level: str = "INFO") -> logging.Logger:
    """Route the root logger (and FastStream's, uvicorn's, httpx's) through redaction."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        logging.Formatter(f"%(asctime)s %(levelname)s {service} %(name)s: %(message)s")
    )
    handler.addFilter(RedactingFilter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    for name in ("faststream", "uvicorn", "uvicorn.error", "uvicorn.access", "httpx", "aiokafka"):
        lg = logging.getLogger(name)
        for old in list(lg.handlers):
            lg.removeHandler(old)
        lg.propagate = True
        lg.addFilter(RedactingFilter())
    # httpx logs every request URL at INFO; URLs may carry query tokens, so keep it quieter.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("aiokafka").setLevel(logging.WARNING)
    return logging.getLogger(service)

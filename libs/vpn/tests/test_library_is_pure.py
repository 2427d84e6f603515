"""The PKI, key and configuration modules read no clock and no environment: time is passed in."""

import ast
from pathlib import Path

import tc_vpn

SOURCE = Path(tc_vpn.__file__).parent
PURE_MODULES = ["pki.py", "tls_crypt_v2.py", "config.py"]
FORBIDDEN_CALLS = {"now", "utcnow", "today", "time", "monotonic", "getenv", "print"}


def test_pure_modules_read_no_clock_and_no_environment() -> None:
    for name in PURE_MODULES:
        for node in ast.walk(ast.parse((SOURCE / name).read_text())):
            if isinstance(node, ast.Call):
                func = node.func
                called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                assert called not in FORBIDDEN_CALLS, f"{name}:{node.lineno} calls {called}"
            if isinstance(node, ast.Attribute):
                assert node.attr != "environ", f"{name}:{node.lineno} reads the environment"

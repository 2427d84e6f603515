"""The library reads no clock and does no I/O of its own: time is passed in, keys are given."""

import ast
from pathlib import Path

import tc_vault

SOURCE = Path(tc_vault.__file__).parent
FORBIDDEN_CALLS = {
    "now",  # datetime.now, datetime.utcnow's sibling
    "utcnow",
    "today",
    "time",  # time.time
    "monotonic",
    "perf_counter",
    "open",  # builtins.open (Vault.open is a method definition, not a call by that name)
    "getenv",
    "print",
}
FORBIDDEN_IMPORTS = {"time", "logging", "socket", "pathlib", "subprocess", "tc_common"}


def _modules() -> list[Path]:
    modules = sorted(SOURCE.rglob("*.py"))
    assert len(modules) >= 6
    return modules


def test_no_module_reads_a_clock_or_the_environment() -> None:
    for module in _modules():
        for node in ast.walk(ast.parse(module.read_text())):
            if isinstance(node, ast.Call):
                func = node.func
                name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                receiver = (
                    func.value.id
                    if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name)
                    else None
                )
                if name == "open" and receiver not in (None, "builtins", "io", "os"):
                    continue  # another object's open, not a file's
                assert name not in FORBIDDEN_CALLS, f"{module.name}:{node.lineno} calls {name}"


def test_no_module_imports_a_clock_logging_or_io() -> None:
    for module in _modules():
        for node in ast.walk(ast.parse(module.read_text())):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                assert name.split(".")[0] not in FORBIDDEN_IMPORTS, f"{module.name} imports {name}"

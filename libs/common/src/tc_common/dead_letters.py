"""What a dead letter tells about the message it stands for, without repeating its values.

A rejected message can hold anything: an invitation code, an email address, a VIN, a position.
Its dead letter lives longer than most raw topics keep their messages (``tc_common.topics``), and
operators read it, so it carries what fixes the cause and nothing in clear:

- where the message is: source topic, partition and offset (the source topic keeps it for its
  retention, to be read there by whoever may);
- how to recognise it: the SHA-256 of its body and of its key, and the body's size;
- why it failed: the reason, with every value of the message withheld from it;
- what it looked like: its *shape*, field names and value types (strings with their length,
  arrays with theirs), never the values. Only the field names the event contracts define are
  shown; any other object key could be data (a map keyed by email address) and is withheld.
"""

import hashlib
import json
import re
from collections.abc import Iterable
from functools import cache
from typing import Any

from pydantic import BaseModel

from tc_common.logging import redact

WITHHELD = "<withheld>"
WITHHELD_KEY = "<key>"
MAX_SHAPE_CHARS = 4000
MAX_DEPTH = 24
MAX_ARRAY_SHAPES = 3
# Values shorter than this are left in a reason: too short to be a secret or identify anyone,
# and withholding them would garble the words around them.
MIN_WITHHELD_CHARS = 4
_TOKENS = re.compile(r"[^\s\"'{}\[\](),:;=]+")


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def body_bytes(body: Any) -> bytes:
    """The body as it came off the topic (a framework may hand over text or parsed JSON)."""
    if isinstance(body, bytes):
        return body
    if isinstance(body, str):
        return body.encode()
    return json.dumps(body, default=str).encode()


@cache
def contract_names() -> frozenset[str]:
    """Every field name (and every fixed map key, such as a currency) the event contracts define."""
    from tc_common import events

    names: set[str] = set()
    stack: list[Any] = [
        model.model_json_schema()
        for model in (getattr(events, name) for name in events.__all__)
        if isinstance(model, type) and issubclass(model, BaseModel)
    ]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if isinstance(node.get("properties"), dict):
                names.update(node["properties"])
            enum = node.get("propertyNames", {}).get("enum", [])
            names.update(str(value) for value in enum)
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return frozenset(names)


def _parse(raw: bytes) -> tuple[Any, str | None]:
    """The body's JSON, or why it has none."""
    try:
        return json.loads(raw), None
    except UnicodeDecodeError:
        return None, "not UTF-8 text, so not JSON"
    except RecursionError:
        return None, "JSON nested too deeply to decode"
    except json.JSONDecodeError:
        return None, "not JSON"


def _shape(value: Any, depth: int) -> str:
    if depth > MAX_DEPTH:
        return "…"
    if isinstance(value, dict):
        known = contract_names()
        fields = []
        for name, inner in value.items():
            if name == "schema_version" and depth == 0 and isinstance(inner, int):
                # Which version of a contract the producer meant: a number, not anyone's data.
                fields.append(f"schema_version: {inner}")
                continue
            label = name if name in known else WITHHELD_KEY
            fields.append(f"{label}: {_shape(inner, depth + 1)}")
        return "{" + ", ".join(fields) + "}"
    if isinstance(value, list):
        if not value:
            return "array(0)"
        kinds: list[str] = []
        for item in value:
            kind = _shape(item, depth + 1)
            if kind not in kinds:
                kinds.append(kind)
            if len(kinds) > MAX_ARRAY_SHAPES:
                kinds[MAX_ARRAY_SHAPES:] = ["…"]
                break
        return f"array({len(value)}) of " + " | ".join(kinds)
    if isinstance(value, str):
        return f"string({len(value)})"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    return "null"


def shape_of(raw: bytes) -> str:
    """The body's structure without its values (see the module docstring), or why it has none."""
    parsed, problem = _parse(raw)
    if problem is not None:
        return problem
    try:
        shape = _shape(parsed, 0)
    except RecursionError:
        return "JSON nested too deeply to describe"
    return shape if len(shape) <= MAX_SHAPE_CHARS else shape[: MAX_SHAPE_CHARS - 1] + "…"


def values_of(raw: bytes, key: bytes | None = None) -> set[str]:
    """Every value in the message (its key, the body's strings and numbers, object keys no
    contract defines), as text: what a reason must not repeat."""
    found: set[str] = set()
    if key:
        found.add(key.decode("utf-8", "replace"))
    parsed, problem = _parse(raw)
    if problem is not None:
        # Not JSON: every word of it is a value.
        found.update(_TOKENS.findall(raw.decode("utf-8", "replace")))
        return {v for v in found if len(v) >= MIN_WITHHELD_CHARS}
    known = contract_names()
    stack = [parsed]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            found.update(str(k) for k in node if k not in known)
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
        elif isinstance(node, str):
            found.add(node)
        elif isinstance(node, int | float) and not isinstance(node, bool):
            found.add(json.dumps(node))
    return {v for v in found if len(v) >= MIN_WITHHELD_CHARS}


def withhold(text: str, values: Iterable[str]) -> str:
    """``text`` with every one of ``values`` (and every known secret) replaced."""
    for value in sorted(values, key=len, reverse=True):
        text = text.replace(value, WITHHELD)
    return redact(text)

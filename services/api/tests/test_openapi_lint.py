"""The OpenAPI document says what a client needs without reading the code: every field and
parameter is described, every number names its unit (and every amount of money its currency),
defaults read as values rather than Python reprs, and every operation shows an example.

Walks the document the app generates (the committed copy equals it: test_openapi_contract.py).
"""

import re
from collections.abc import Iterator
from typing import Any, get_args

from tc_api import openapi_doc
from tc_api.schemas import PlanTrigger
from tc_common.events import ChargePlanPublished

DOCUMENT = openapi_doc.document()
SCHEMAS: dict[str, Any] = DOCUMENT["components"]["schemas"]

# A unit in the name counts: the schemas' naming convention (tc_api.schemas) ends a number's
# name with its unit.
UNIT_SUFFIXES = (
    "_pct",
    "_kwh",
    "_kw",
    "_km",
    "_kmh",
    "_deg",
    "_c",
    "_mm",
    "_m_per_s",
    "_min",
    "_s",
    "_eur_per_mwh",
    "_ore_per_kwh",
)
# Otherwise the description names it: a unit, a count, or a dimensionless ratio and its range.
UNIT_IN_DESCRIPTION = re.compile(
    r"kWh|kW\b|\bkm\b|km/h|°C|\bEUR\b|\bNOK\b|øre|percent|%|\bminutes?\b|\bseconds?\b|\bdays?\b"
    r"|\bhours?\b|\bdegrees\b|\bmm\b|m/s|\bnumber of\b|\bcount of\b|\b0\.\.1\b|\b0 = Monday\b"
    r"|\bper 1 EUR\b|\bcurrency\b",
    re.IGNORECASE,
)
MONEY = re.compile(r"cost|price|saving")
CURRENCY = re.compile(r"\bEUR\b|\bNOK\b|øre|currency", re.IGNORECASE)
# FastAPI's own 422 body: its fields are FastAPI's, not this API's, to describe.
FRAMEWORK_SCHEMAS = {"HTTPValidationError", "ValidationError"}
# Python reprs that leak into a document when a default is formatted with str() or repr().
PYTHON_REPR = re.compile(
    r"datetime\.|timedelta\(|Decimal\(|<[a-z_.]+ object|\d+ days?, \d+:\d\d:\d\d"
)


def _properties() -> Iterator[tuple[str, str, dict[str, Any]]]:
    for model, schema in sorted(SCHEMAS.items()):
        if model in FRAMEWORK_SCHEMAS:
            continue
        for name, prop in sorted(schema.get("properties", {}).items()):
            yield model, name, prop


def _parameters() -> Iterator[tuple[str, dict[str, Any]]]:
    for path, operations in sorted(DOCUMENT["paths"].items()):
        for method, operation in sorted(operations.items()):
            for parameter in operation.get("parameters", []):
                yield f"{method.upper()} {path} {parameter['in']}:{parameter['name']}", parameter


def _operations() -> Iterator[tuple[str, dict[str, Any]]]:
    for path, operations in sorted(DOCUMENT["paths"].items()):
        for method, operation in sorted(operations.items()):
            yield f"{method.upper()} {path}", operation


def _types(schema: dict[str, Any]) -> set[str]:
    types = {schema["type"]} if isinstance(schema.get("type"), str) else set()
    for branch in schema.get("anyOf", []) + schema.get("oneOf", []):
        types |= _types(branch)
    return types


def _strings(node: Any, where: str = "") -> Iterator[tuple[str, str]]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _strings(value, f"{where}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _strings(value, f"{where}/{index}")
    elif isinstance(node, str):
        yield where, node


def test_every_field_has_a_description() -> None:
    missing = [
        f"{model}.{name}" for model, name, prop in _properties() if not prop.get("description")
    ]
    assert not missing, f"fields without a description: {missing}"


def test_every_parameter_has_a_description() -> None:
    missing = [where for where, parameter in _parameters() if not parameter.get("description")]
    assert not missing, f"parameters without a description: {missing}"


def _has_unit(name: str, description: str) -> bool:
    # An identifier is not a quantity.
    if name.endswith("_id"):
        return True
    return name.endswith(UNIT_SUFFIXES) or bool(UNIT_IN_DESCRIPTION.search(description))


def test_every_number_names_its_unit() -> None:
    missing = [
        f"{model}.{name}"
        for model, name, prop in _properties()
        if _types(prop) & {"number", "integer"} and not _has_unit(name, prop.get("description", ""))
    ]
    missing += [
        where
        for where, parameter in _parameters()
        if _types(parameter["schema"]) & {"number", "integer"}
        and not _has_unit(parameter["name"], parameter.get("description", ""))
    ]
    assert not missing, f"numbers whose name and description give no unit: {missing}"


def test_every_amount_of_money_names_its_currency() -> None:
    missing = [
        f"{model}.{name}"
        for model, name, prop in _properties()
        if _types(prop) & {"number", "integer"}
        and MONEY.search(name)
        and not CURRENCY.search(name.replace("_", " ") + " " + prop.get("description", ""))
    ]
    assert not missing, f"amounts of money without a currency: {missing}"


def test_no_default_or_description_reads_as_a_python_repr() -> None:
    leaks = [(where, text) for where, text in _strings(DOCUMENT) if PYTHON_REPR.search(text)]
    assert not leaks, f"Python reprs in the document: {leaks}"


def _has_example(operation: dict[str, Any]) -> bool:
    for code, response in operation.get("responses", {}).items():
        if not code.startswith("2"):
            continue
        if code == "204":  # no content: nothing to show
            return True
        for media in response.get("content", {}).values():
            if "example" in media or "examples" in media:
                return True
            ref = media.get("schema", {}).get("$ref", "")
            if ref and "examples" in SCHEMAS[ref.rsplit("/", 1)[-1]]:
                return True
    return False


def test_every_operation_shows_an_example_answer() -> None:
    missing = [where for where, operation in _operations() if not _has_example(operation)]
    assert not missing, f"operations without a response example: {missing}"


def test_the_plan_triggers_declared_are_the_events_own() -> None:
    assert get_args(PlanTrigger) == get_args(ChargePlanPublished.model_fields["trigger"].annotation)


def test_every_optional_parameter_says_its_default() -> None:
    # A fixed default is a value in the schema; one that depends on the clock or on another
    # parameter (the windows' 'from' and 'to') is written in the description.
    missing = [
        where
        for where, parameter in _parameters()
        if not parameter.get("required")
        and "default" not in parameter["schema"]
        and "(default:" not in parameter.get("description", "")
    ]
    assert not missing, f"optional parameters without a default: {missing}"

"""How a consumer answers a failed handler: which failures wait, retry or dead-letter."""

import json

import pytest
from aiokafka.errors import KafkaConnectionError
from pydantic import BaseModel, ValidationError

from tc_common.consuming import FailurePolicy, reason_of


class Reading(BaseModel):
    value: float


class DatabaseAwayError(Exception):
    pass


class ValueRefusedError(Exception):
    pass


POLICY = FailurePolicy(permanent=(ValueRefusedError,), transient=(DatabaseAwayError,))


def schema_error() -> ValidationError:
    try:
        Reading.model_validate({"value": "secret-looking-input"})
    except ValidationError as error:
        return error
    raise AssertionError("unreachable")


def json_error(body: str) -> json.JSONDecodeError:
    try:
        json.loads(body)
    except json.JSONDecodeError as error:
        return error
    raise AssertionError("unreachable")


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (schema_error(), "permanent"),
        (json_error("not json"), "permanent"),
        (RecursionError("maximum recursion depth exceeded"), "permanent"),
        (UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid start byte"), "permanent"),
        (ValueRefusedError("bigint out of range"), "permanent"),
        (KafkaConnectionError("broker away"), "transient"),
        (ConnectionRefusedError("refused"), "transient"),
        (DatabaseAwayError("restarting"), "transient"),
        (RuntimeError("a bug"), "unknown"),
        (KeyError("x"), "unknown"),
    ],
)  # fmt: skip
def test_failures_are_sorted_by_what_retrying_would_do(error: BaseException, kind: str) -> None:
    assert POLICY.kind_of(error) == kind


def test_backoff_doubles_up_to_its_cap_with_equal_jitter() -> None:
    policy = FailurePolicy(backoff_initial_s=1.0, backoff_max_s=8.0)

    assert [policy.delay_s(n, 0.0) for n in range(1, 6)] == [0.5, 1.0, 2.0, 4.0, 4.0]
    assert [policy.delay_s(n, 0.999) for n in range(1, 6)] == pytest.approx(
        [1.0, 2.0, 4.0, 8.0, 8.0], abs=0.01
    )


def test_reasons_say_why_without_repeating_the_input() -> None:
    assert (
        reason_of(schema_error())
        == "value: Input should be a valid number, unable to parse string as a number"
    )
    assert "secret-looking-input" not in reason_of(schema_error())
    assert reason_of(json_error("{oops")).startswith("the body is not JSON: ")
    assert reason_of(RecursionError()) == "the body is nested too deeply to decode"
    assert reason_of(
        RuntimeError("password=hunter2 in a URL")
    ) == "RuntimeError: password=*** in a URL" or (
        "hunter2" not in reason_of(RuntimeError("password=hunter2 in a URL"))
    )

import pytest
from pydantic import ValidationError

from tc_api.settings import ApiSettings

GOOD_KEY = "dashboard-key-0123456789"
POSTGRES = {"url": "postgresql://tc:pw@127.0.0.1:5432/tc"}


def test_keys_and_database_are_read_from_api_prefixed_environment_variables(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("API_POSTGRES__URL", "postgresql://tc:pw@127.0.0.1:5432/tc")
    monkeypatch.setenv("API_API_KEYS", f"{GOOD_KEY}, second-key-abcdefghij")
    monkeypatch.setenv("API_HTTP__PORT", "8123")

    settings = ApiSettings()

    assert [k.get_secret_value() for k in settings.api_keys] == [
        GOOD_KEY,
        "second-key-abcdefghij",
    ]
    assert settings.http.port == 8123
    assert settings.postgres.url.get_secret_value().endswith("/tc")


def test_keys_may_also_be_given_as_a_json_list(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("API_POSTGRES__URL", "postgresql://tc:pw@127.0.0.1:5432/tc")
    monkeypatch.setenv("API_API_KEYS", f'["{GOOD_KEY}"]')

    assert [k.get_secret_value() for k in ApiSettings().api_keys] == [GOOD_KEY]


def test_the_default_port_is_8000() -> None:
    assert ApiSettings(postgres=POSTGRES, api_keys=[GOOD_KEY]).http.port == 8000


@pytest.mark.parametrize(
    ("keys", "message"),
    [
        pytest.param([], "at least 1 item", id="none"),
        pytest.param(
            [GOOD_KEY, "changeme"], "api_keys[1] is empty or a placeholder", id="placeholder"
        ),
        pytest.param(["  "], "api_keys[0] is empty or a placeholder", id="blank"),
        pytest.param(["short-key-123"], "api_keys[0] is shorter than 16", id="short"),
    ],
)
def test_missing_placeholder_or_short_keys_stop_the_service_without_echoing_them(
    keys: list[str], message: str
) -> None:
    with pytest.raises(ValidationError) as raised:
        ApiSettings(postgres=POSTGRES, api_keys=keys)

    assert message in str(raised.value)
    for key in keys:
        if key.strip():
            assert key not in str(raised.value)


def test_the_database_url_is_required(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("API_POSTGRES__URL", raising=False)

    with pytest.raises(ValidationError, match="postgres"):
        ApiSettings(api_keys=[GOOD_KEY])

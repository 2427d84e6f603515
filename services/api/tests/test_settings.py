import base64
import os

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


KMS_KEY = "arn:aws:kms:eu-central-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def test_the_vault_keys_may_live_in_kms_instead(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("API_VAULT_KMS__REGION", "eu-central-1")
    monkeypatch.setenv("API_VAULT_KMS__KEY_IDS", f'{{"1": "{KMS_KEY}"}}')
    monkeypatch.setenv("API_VAULT_KMS__CURRENT_VERSION", "1")

    settings = ApiSettings(postgres=POSTGRES, api_keys=[GOOD_KEY])

    assert settings.vault is None
    assert settings.vault_kms is not None
    assert settings.vault_kms.key_ids == {1: KMS_KEY}


def test_local_keys_and_kms_keys_at_once_stop_the_service(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(
        "API_VAULT__KEYS", '{"1": "' + base64.b64encode(os.urandom(32)).decode() + '"}'
    )
    monkeypatch.setenv("API_VAULT__CURRENT_VERSION", "1")
    monkeypatch.setenv("API_VAULT_KMS__REGION", "eu-central-1")
    monkeypatch.setenv("API_VAULT_KMS__KEY_IDS", f'{{"1": "{KMS_KEY}"}}')
    monkeypatch.setenv("API_VAULT_KMS__CURRENT_VERSION", "1")

    with pytest.raises(ValidationError, match="not both"):
        ApiSettings(postgres=POSTGRES, api_keys=[GOOD_KEY])


def test_without_any_vault_settings_the_token_intake_stays_off() -> None:
    settings = ApiSettings(postgres=POSTGRES, api_keys=[GOOD_KEY])

    assert (settings.vault, settings.vault_kms) == (None, None)

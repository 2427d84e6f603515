"""A sealed token opens to the token it sealed; each seal is fresh; the record travels as JSON."""

import base64
import json
from datetime import datetime, timedelta, timezone
from uuid import UUID

import pytest

from tc_vault import SealedToken, SealedTokenMalformedError, Vault

from .support import NOW, TOKEN


def test_a_sealed_token_opens_to_the_token(vault: Vault, account_id: UUID, token_id: UUID) -> None:
    sealed = vault.seal(account_id, token_id, TOKEN, NOW)
    assert vault.open(sealed) == TOKEN
    assert (sealed.account_id, sealed.token_id, sealed.kek_version) == (account_id, token_id, 1)


def test_a_token_with_any_unicode_opens_unchanged(
    vault: Vault, account_id: UUID, token_id: UUID
) -> None:
    token = "tøken-🔑-with spaces and\nnewline"
    assert vault.open(vault.seal(account_id, token_id, token, NOW)) == token


def test_the_record_holds_only_ciphertext_of_the_expected_shape(
    vault: Vault, account_id: UUID, token_id: UUID
) -> None:
    sealed = vault.seal(account_id, token_id, TOKEN, NOW)
    # Nonce, token bytes, tag; nonce, 32-byte data key, tag.
    assert len(sealed.ciphertext) == 12 + len(TOKEN.encode()) + 16
    assert len(sealed.wrapped_data_key) == 12 + 32 + 16
    assert TOKEN.encode() not in sealed.ciphertext


def test_two_seals_of_the_same_token_share_no_bytes_of_key_or_nonce(
    vault: Vault, account_id: UUID, token_id: UUID
) -> None:
    first = vault.seal(account_id, token_id, TOKEN, NOW)
    second = vault.seal(account_id, token_id, TOKEN, NOW)
    assert first.ciphertext != second.ciphertext
    assert first.ciphertext[:12] != second.ciphertext[:12]  # fresh token nonce
    assert first.wrapped_data_key != second.wrapped_data_key  # fresh data key (and nonce)
    assert first.wrapped_data_key[:12] != second.wrapped_data_key[:12]
    assert vault.open(first) == vault.open(second) == TOKEN


def test_the_sealing_time_is_the_one_passed_in(
    vault: Vault, account_id: UUID, token_id: UUID
) -> None:
    oslo = datetime(2031, 1, 2, 3, 4, 5, tzinfo=timezone(timedelta(hours=1)))
    assert vault.seal(account_id, token_id, TOKEN, oslo).sealed_at == oslo


def test_a_naive_time_is_refused(vault: Vault, account_id: UUID, token_id: UUID) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        vault.seal(account_id, token_id, TOKEN, datetime(2026, 12, 5, 18, 30))  # noqa: DTZ001


def test_an_empty_token_is_refused(vault: Vault, account_id: UUID, token_id: UUID) -> None:
    with pytest.raises(ValueError, match="empty"):
        vault.seal(account_id, token_id, "  ", NOW)


def test_the_json_form_is_flat_strings_and_reads_back_equal(
    vault: Vault, account_id: UUID, token_id: UUID
) -> None:
    sealed = vault.seal(account_id, token_id, TOKEN, NOW)
    data = sealed.to_json_dict()
    assert data == {
        "format": 1,
        "account_id": str(account_id),
        "token_id": str(token_id),
        "kek_version": 1,
        "wrapped_data_key": base64.b64encode(sealed.wrapped_data_key).decode(),
        "ciphertext": base64.b64encode(sealed.ciphertext).decode(),
        "sealed_at": "2026-12-05T18:30:00+00:00",
    }
    again = SealedToken.from_json_dict(json.loads(json.dumps(data)))
    assert again == sealed
    assert vault.open(again) == TOKEN


def test_the_bytes_form_is_stable_and_reads_back_equal(
    vault: Vault, account_id: UUID, token_id: UUID
) -> None:
    sealed = vault.seal(account_id, token_id, TOKEN, NOW)
    raw = sealed.to_bytes()
    assert SealedToken.from_bytes(raw) == sealed
    assert SealedToken.from_bytes(raw).to_bytes() == raw
    assert raw.startswith(b'{"account_id":')


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        ({"format": 2}, "format"),
        ({"kek_version": 0}, "kek_version"),
        ({"kek_version": "1"}, "kek_version"),
        ({"account_id": "not-a-uuid"}, "account_id"),
        ({"sealed_at": "2026-12-05T18:30:00"}, "sealed_at"),
        ({"ciphertext": "not base64!"}, "ciphertext is not base64"),
        ({"ciphertext": base64.b64encode(b"short").decode()}, "too short"),
        ({"wrapped_data_key": ""}, "wrapped_data_key is empty"),
        ({"extra": "field"}, "extra"),
    ],
)
def test_a_malformed_record_is_refused_by_name(
    vault: Vault, account_id: UUID, token_id: UUID, change: dict[str, object], complaint: str
) -> None:
    data = vault.seal(account_id, token_id, TOKEN, NOW).to_json_dict() | change
    with pytest.raises(SealedTokenMalformedError, match=complaint):
        SealedToken.from_json_dict(data)


def test_bytes_that_are_not_json_are_refused() -> None:
    with pytest.raises(SealedTokenMalformedError, match="JSON"):
        SealedToken.from_bytes(b"\xff\x00")
    with pytest.raises(SealedTokenMalformedError):
        SealedToken.from_bytes(b"[1, 2]")

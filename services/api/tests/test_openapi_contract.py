"""The committed OpenAPI document (docs/openapi/api.json) is the app's own: drift fails here as
well as in ``make openapi-check``."""

from pathlib import Path

from tc_api import openapi_doc

COMMITTED = Path(__file__).resolve().parents[3] / "docs" / "openapi" / "api.json"


def test_the_committed_openapi_document_is_the_one_the_app_generates() -> None:
    assert COMMITTED.read_text(encoding="utf-8") == openapi_doc.render(), (
        "OpenAPI drifted: run 'make openapi' and commit"
    )


def test_the_document_holds_no_dummy_setting_of_its_generation() -> None:
    text = openapi_doc.render()
    assert "docs-only-key" not in text
    assert "postgresql://" not in text

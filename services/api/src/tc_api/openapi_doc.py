"""The api's OpenAPI document as committed in ``docs/openapi/api.json``.

The document is a contract under review, like the AsyncAPI documents: generated from the app,
committed, and checked for drift in ``make test`` (``make openapi-check``) and by a test.
It must be a function of the code alone: keys are sorted, and the app is built with dummy
settings (nothing is connected, the lifespan never runs), so no host, key or database leaks in.

``python -m tc_api.openapi_doc PATH`` writes it to PATH.
"""

import json
import sys
from pathlib import Path
from typing import Any

from tc_api.main import create_app
from tc_api.settings import ApiSettings

# Dummies: building the app opens no connection, and the document shows none of them.
_DOCS_SETTINGS = {
    "postgres": {"url": "postgresql://docs@localhost/docs"},
    "api_keys": ["docs-only-key-0123456789"],
}


def document() -> dict[str, Any]:
    """The OpenAPI document of the app as ``create_app`` builds it."""
    app = create_app(ApiSettings.model_validate(_DOCS_SETTINGS))
    return app.openapi()


def render() -> str:
    """The document as committed: JSON, sorted keys, two-space indent, trailing newline."""
    return json.dumps(document(), sort_keys=True, indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        sys.stderr.write("usage: python -m tc_api.openapi_doc PATH\n")
        return 2
    path = Path(argv[0])
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

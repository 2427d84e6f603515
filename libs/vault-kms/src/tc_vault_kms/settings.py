"""Settings of the KMS keyring: which KMS key each key version is, and where KMS is.

A service composes :class:`KmsVaultSettings` into its own settings beside the local keyring's
``vault``, as ``vault_kms``: under ``INGEST_`` that reads
``INGEST_VAULT_KMS__REGION=eu-central-1``,
``INGEST_VAULT_KMS__KEY_IDS='{"1": "arn:aws:kms:eu-central-1:111122223333:key/..."}'`` and
``INGEST_VAULT_KMS__CURRENT_VERSION=1``. No secret is among them: credentials come from the
AWS SDK's usual chain (a role of the pod or instance, or ``AWS_*`` variables), never from here.
"""

import re

from pydantic import BaseModel, ConfigDict, Field, model_validator

from tc_vault.aad import MAX_KEK_VERSION

# A key id, a key ARN, an alias name or an alias ARN (KMS's own forms); an alias can be
# repointed, which silently changes what a version means, hence the README's advice of ARNs.
_KEY_ID = re.compile(
    r"^(arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:(key|alias)/\S+|alias/\S+|[0-9a-f-]{36}|mrk-[0-9a-f]{32})$"
)


class KmsVaultSettings(BaseModel):
    """The KMS keys that wrap data keys, by version, the current one, and the KMS endpoint."""

    model_config = ConfigDict(frozen=True)

    region: str = Field(min_length=1, description="The AWS region of the keys, e.g. eu-central-1.")
    key_ids: dict[int, str] = Field(
        description="KMS keys by version, as a JSON object: version -> key ARN (or key id). "
        "Keep an old version only until every record has been re-wrapped."
    )
    current_version: int = Field(
        ge=1,
        le=MAX_KEK_VERSION,
        description="The version that wraps new data keys; one of key_ids.",
    )
    endpoint_url: str | None = Field(
        default=None,
        description="Another KMS endpoint: a VPC endpoint, or a local fake in tests. Unset: "
        "the region's public endpoint.",
    )
    timeout_s: float = Field(
        default=5.0, gt=0, le=60, description="Connect and read timeout of one KMS call."
    )
    max_attempts: int = Field(
        default=3,
        ge=1,
        le=10,
        description="Attempts of one KMS call (the SDK's standard retries, with backoff) before "
        "it counts as unavailable.",
    )

    @model_validator(mode="after")
    def _keys_usable(self) -> "KmsVaultSettings":
        if not self.key_ids:
            raise ValueError("vault_kms.key_ids is empty; set at least the current key")
        seen: dict[str, int] = {}
        for version, key_id in sorted(self.key_ids.items()):
            if not 1 <= version <= MAX_KEK_VERSION:
                raise ValueError(f"key version {version} is outside 1..{MAX_KEK_VERSION}")
            if not _KEY_ID.match(key_id):
                raise ValueError(
                    f"key version {version} is not a KMS key ARN, key id or alias: {key_id!r}"
                )
            if key_id in seen:
                raise ValueError(f"key versions {seen[key_id]} and {version} name the same key")
            seen[key_id] = version
        if self.current_version not in self.key_ids:
            raise ValueError(
                f"current_version {self.current_version} is not among vault_kms.key_ids"
            )
        return self

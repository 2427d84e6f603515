-- Customers as tenants: each account's Tessie token, as ciphertext only.
--
-- One row per account: its current token. `sealed` is tc_vault's SealedToken.to_bytes() (the
-- token encrypted under a data key, the data key wrapped by the key-encryption key of
-- `kek_version`, both bound to account_id and token_id); the plaintext token is stored nowhere.
-- Revoking keeps the row (token id, when) but erases the ciphertext, so a revocation whose
-- publish failed can be published again. Registering a new token replaces the row.
--
-- Writer: tc_db.tokens (the api, for the customer; tc-admin, for an operator's revocation and
-- key rotation). Each change is also published on accounts.tessie_tokens.v1, keyed by account.
--
-- One file for both storage modes: a small table, not a hypertable.

CREATE TABLE IF NOT EXISTS tessie_tokens (
    account_id uuid PRIMARY KEY REFERENCES accounts (account_id) ON DELETE CASCADE,
    token_id uuid NOT NULL UNIQUE,
    kek_version integer CHECK (kek_version >= 1),
    sealed bytea,
    vehicle_ids text[] NOT NULL DEFAULT '{}',
    registered_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    revoked_at timestamptz,
    CHECK (updated_at >= registered_at),
    -- A registered token has its ciphertext and key version; a revoked one neither.
    CHECK ((revoked_at IS NULL) = (sealed IS NOT NULL)),
    CHECK ((sealed IS NULL) = (kek_version IS NULL))
);

-- Key rotation looks for the registered tokens wrapped by another key version than the current
-- one (kek_version < current OR kek_version > current).
CREATE INDEX IF NOT EXISTS tessie_tokens_by_kek_version
    ON tessie_tokens (kek_version)
    WHERE sealed IS NOT NULL;

-- Customers as tenants: the account, the vehicles it owns and the API keys it holds.
--
-- Writers: the provisioner (an accepted request creates or reuses the account of its email)
-- and the operator's tool (tc-admin). Each change is also published on accounts.changes.v1 /
-- accounts.api_keys.v1, keyed by account / key id, so the other services learn of it without
-- calling anyone. The api reads these tables (and notes when each key was last used).
--
-- An API key is kept only as the SHA-256 hex digest of the key (keys are 256 random bits, so a
-- digest cannot be reversed by guessing); the key itself is shown once, when it is issued.
-- A vehicle belongs to at most one account: another tenant's car is invisible, not shared.
--
-- One file for both storage modes: small tables, not hypertables.

CREATE TABLE IF NOT EXISTS accounts (
    account_id uuid PRIMARY KEY,
    email text NOT NULL,
    email_casefold text NOT NULL,
    state text NOT NULL CHECK (state IN ('active', 'suspended', 'erasure_pending', 'erased')),
    created_at timestamptz NOT NULL,
    changed_at timestamptz NOT NULL,
    CHECK (changed_at >= created_at)
);

-- One account per person (case-folded email) among those not erased: an erased account keeps
-- its row (for the audit trail, its email blanked) and frees the address for a new start.
CREATE UNIQUE INDEX IF NOT EXISTS accounts_one_per_email
    ON accounts (email_casefold)
    WHERE state <> 'erased';

CREATE TABLE IF NOT EXISTS account_vehicles (
    vehicle_id text PRIMARY KEY,
    account_id uuid NOT NULL REFERENCES accounts (account_id) ON DELETE CASCADE,
    linked_at timestamptz NOT NULL
);

CREATE INDEX IF NOT EXISTS account_vehicles_by_account ON account_vehicles (account_id);

CREATE TABLE IF NOT EXISTS api_keys (
    key_id uuid PRIMARY KEY,
    account_id uuid NOT NULL REFERENCES accounts (account_id) ON DELETE CASCADE,
    key_sha256 text NOT NULL UNIQUE CHECK (key_sha256 ~ '^[0-9a-f]{64}$'),
    label text NOT NULL DEFAULT '' CHECK (length(label) <= 64),
    issued_at timestamptz NOT NULL,
    revoked_at timestamptz,
    last_used_at timestamptz,
    CHECK (revoked_at IS NULL OR revoked_at >= issued_at)
);

CREATE INDEX IF NOT EXISTS api_keys_by_account ON api_keys (account_id);

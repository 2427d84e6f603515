-- GDPR erasures: one row per request, the audit record that outlives the account's data.
-- No personal data: the account's random id, times, and per step (store, forecast) when it
-- finished and how much it removed (counts per table or topic). finished_at is set once every
-- step reported and the account row was blanked (state 'erased').

CREATE TABLE IF NOT EXISTS erasures (
    account_id uuid NOT NULL,
    requested_at timestamptz NOT NULL,
    steps jsonb NOT NULL DEFAULT '{}'::jsonb,
    finished_at timestamptz,
    PRIMARY KEY (account_id, requested_at)
);

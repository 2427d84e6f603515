-- The provisioner's decisions: one row per provisioning request id, holding the answer exactly
-- as it was published. Kafka keeps the request and answer topics only for their retention, so
-- the topics cannot be the record of who holds a seat; this table is, however long the
-- provisioner was stopped. A repeated request id finds its row and gets the first answer again.
--
-- An accepted row also holds the seat it took (the case-folded email and device name) and the
-- SHA-256 hex digest of the invitation code it used up (never the code itself). The partial
-- unique indexes keep one seat per (email, device) and one use per invitation whoever writes.
-- Rejections use up nothing and keep no email, device or digest.
--
-- The beta cap is a count of the accepted rows. A decider checks it while holding this table
-- in SHARE ROW EXCLUSIVE mode, a mode that conflicts with itself and with every insert: one
-- decision at a time across all provisioner processes, so two of them (a rolling update) never
-- both take the last seat.
--
-- One file for both storage modes: a small table, not a hypertable.

CREATE TABLE IF NOT EXISTS provisioning_decisions (
    request_id uuid PRIMARY KEY,
    outcome text NOT NULL CHECK (outcome IN ('accepted', 'rejected')),
    reason text NOT NULL,
    seats_taken integer NOT NULL CHECK (seats_taken >= 0),
    seats_total integer NOT NULL CHECK (seats_total >= 0),
    decided_at timestamptz NOT NULL,
    email_casefold text,
    device_casefold text,
    invitation_sha256 text CHECK (invitation_sha256 ~ '^[0-9a-f]{64}$'),
    stored_at timestamptz NOT NULL DEFAULT now(),
    -- An acceptance holds its seat and its invitation; a rejection holds neither.
    CHECK (
        CASE outcome
            WHEN 'accepted' THEN num_nulls(email_casefold, device_casefold, invitation_sha256) = 0
            ELSE num_nonnulls(email_casefold, device_casefold, invitation_sha256) = 0
        END
    )
);

CREATE UNIQUE INDEX IF NOT EXISTS provisioning_decisions_one_seat_per_device
    ON provisioning_decisions (email_casefold, device_casefold)
    WHERE outcome = 'accepted';

CREATE UNIQUE INDEX IF NOT EXISTS provisioning_decisions_one_use_per_invitation
    ON provisioning_decisions (invitation_sha256)
    WHERE outcome = 'accepted';

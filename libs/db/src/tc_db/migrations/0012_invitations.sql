-- Invitations an operator issued (tc-admin invite): the SHA-256 hex digest of each code, never
-- the code, which is shown once and handed over out of band. The provisioner reads this table
-- in its deciding transaction: a code is valid while issued, unexpired and not withdrawn, and
-- it is used up by the accepted decision that holds its digest (provisioning_decisions).
-- The label is the operator's note ("beta wave 2"), not personal data.

CREATE TABLE IF NOT EXISTS invitations (
    invitation_sha256 text PRIMARY KEY CHECK (invitation_sha256 ~ '^[0-9a-f]{64}$'),
    label text NOT NULL DEFAULT '' CHECK (length(label) <= 64),
    issued_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL CHECK (expires_at > issued_at),
    withdrawn_at timestamptz
);

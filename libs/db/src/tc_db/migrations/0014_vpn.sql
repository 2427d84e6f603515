-- Private access over OpenVPN: the certificate authority, every device certificate it issued,
-- and each emailing of a device's profile (issue 12).
--
-- Writer: the provisioner (tc_db.vpn), the only holder of the CA key. Every change is also
-- published (vpn.devices.v1, vpn.deliveries.v1, vpn.crl.v1); these tables are the record, so
-- revocations survive any restart and any topic retention.
--
-- Private keys exist here only sealed by tc_vault (AES-256-GCM envelope encryption under the
-- key-encryption keys of the provisioner's settings or a KMS): `*_sealed` columns hold
-- SealedToken.to_bytes(), bound to the row (see tc_db.vpn for the ids used). A device's profile
-- (its inline .ovpn, which holds its key) is kept sealed until the certificate is revoked or
-- expires, so that a failed or lost email can be sent again; then it is erased.
--
-- One file for both storage modes: small tables, not hypertables.

CREATE TABLE IF NOT EXISTS vpn_authority (
    authority_id uuid PRIMARY KEY,
    -- One authority at a time: a second provisioner starting at once finds the first's.
    singleton boolean NOT NULL DEFAULT true UNIQUE CHECK (singleton),
    ca_cert_pem text NOT NULL,
    ca_key_sealed bytea NOT NULL,
    server_common_name text NOT NULL,
    server_cert_pem text NOT NULL,
    server_key_sealed bytea NOT NULL,
    tls_crypt_v2_server_key_sealed bytea NOT NULL,
    crl_number bigint NOT NULL DEFAULT 0 CHECK (crl_number >= 0),
    crl_pem text,
    crl_this_update timestamptz,
    crl_next_update timestamptz,
    created_at timestamptz NOT NULL,
    CHECK ((crl_pem IS NULL) = (crl_next_update IS NULL))
);

CREATE TABLE IF NOT EXISTS vpn_devices (
    serial_hex text PRIMARY KEY CHECK (serial_hex ~ '^[0-9a-f]{1,40}$'),
    authority_id uuid NOT NULL REFERENCES vpn_authority (authority_id),
    account_id uuid NOT NULL REFERENCES accounts (account_id),
    -- The accepted request that issued it; renewals and re-issues have none.
    request_id uuid UNIQUE,
    device_name text NOT NULL CHECK (length(device_name) <= 64),
    common_name text NOT NULL CHECK (length(common_name) <= 64),
    issued_at timestamptz NOT NULL,
    not_after timestamptz NOT NULL CHECK (not_after > issued_at),
    -- on_hold: listed in the CRL while the account is suspended, released when it resumes.
    state text NOT NULL CHECK (state IN ('issued', 'on_hold', 'revoked')),
    state_changed_at timestamptz NOT NULL,
    reason text CHECK (reason IN (
        'customer_request', 'operator', 'account_suspended', 'account_erased', 'superseded'
    )),
    replaces_serial_hex text REFERENCES vpn_devices (serial_hex),
    profile_sealed bytea,
    CHECK ((state = 'issued') = (reason IS NULL)),
    -- A revoked device's profile is of no use to anyone: it is erased with the revocation.
    CHECK (state <> 'revoked' OR profile_sealed IS NULL)
);

CREATE INDEX IF NOT EXISTS vpn_devices_by_account ON vpn_devices (account_id, device_name);

-- The CRL lists every certificate on hold or revoked until it expires.
CREATE INDEX IF NOT EXISTS vpn_devices_listed ON vpn_devices (not_after)
    WHERE state <> 'issued';

CREATE TABLE IF NOT EXISTS vpn_deliveries (
    delivery_id uuid PRIMARY KEY,
    serial_hex text NOT NULL REFERENCES vpn_devices (serial_hex),
    -- The request that asked for a re-send, if any (idempotent: one delivery per request).
    request_id uuid UNIQUE,
    requested_at timestamptz NOT NULL,
    attempts integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    last_attempt_at timestamptz,
    next_attempt_at timestamptz,
    delivered_at timestamptz,
    failed_at timestamptz,
    last_error text NOT NULL DEFAULT '' CHECK (length(last_error) <= 300),
    -- Pending (a next attempt), delivered or failed: exactly one.
    CHECK (num_nonnulls(next_attempt_at, delivered_at, failed_at) = 1)
);

CREATE INDEX IF NOT EXISTS vpn_deliveries_due ON vpn_deliveries (next_attempt_at)
    WHERE next_attempt_at IS NOT NULL;

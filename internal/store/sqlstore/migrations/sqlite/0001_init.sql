-- Times are integer microseconds since the Unix epoch, UTC; NULL means unset.

CREATE TABLE host_groups (
    name       TEXT    NOT NULL PRIMARY KEY,
    policy     BLOB,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

CREATE TABLE hosts (
    name                TEXT    NOT NULL PRIMARY KEY,
    group_name          TEXT    NOT NULL,
    tpm_family          TEXT    NOT NULL,
    ek_public           BLOB,
    ek_digest           TEXT    NOT NULL,
    ek_cert             BLOB,
    ak_public           BLOB,
    client_cert_sha256  TEXT    NOT NULL,
    enrolled_at         INTEGER NOT NULL,
    status              TEXT    NOT NULL,
    status_since        INTEGER NOT NULL,
    last_attested       INTEGER,
    last_seen           INTEGER,
    reason_code         TEXT    NOT NULL,
    reason              TEXT    NOT NULL,
    clock               INTEGER NOT NULL,
    reset_count         INTEGER NOT NULL,
    restart_count       INTEGER NOT NULL,
    pending_ek_public   BLOB,
    pending_ek_cert     BLOB,
    pending_ek_at       INTEGER,
    attest_requested_at INTEGER
);
CREATE INDEX hosts_ek_digest ON hosts (ek_digest);
CREATE INDEX hosts_group_status ON hosts (group_name, status);
CREATE INDEX hosts_status ON hosts (status);
CREATE INDEX hosts_attest_requested_at ON hosts (attest_requested_at);

CREATE TABLE latest_evidence (
    host     TEXT    NOT NULL PRIMARY KEY REFERENCES hosts (name) ON DELETE CASCADE,
    at       INTEGER NOT NULL,
    evidence BLOB,
    verdict  BLOB
);

CREATE TABLE status_changes (
    id          INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    host        TEXT    NOT NULL REFERENCES hosts (name) ON DELETE CASCADE,
    from_status TEXT    NOT NULL,
    to_status   TEXT    NOT NULL,
    at          INTEGER NOT NULL,
    reason_code TEXT    NOT NULL,
    reason      TEXT    NOT NULL,
    verdict     BLOB,
    evidence    BLOB
);
CREATE INDEX status_changes_host_at ON status_changes (host, at);

CREATE TABLE attestation_summaries (
    id              INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    host            TEXT    NOT NULL REFERENCES hosts (name) ON DELETE CASCADE,
    at              INTEGER NOT NULL,
    status          TEXT    NOT NULL,
    reason_code     TEXT    NOT NULL,
    duration_micros INTEGER NOT NULL
);
CREATE INDEX attestation_summaries_host_at ON attestation_summaries (host, at);
CREATE INDEX attestation_summaries_at ON attestation_summaries (at);

CREATE TABLE join_tokens (
    id          TEXT    NOT NULL PRIMARY KEY,
    secret_hash BLOB,
    group_name  TEXT    NOT NULL,
    host        TEXT    NOT NULL,
    created_by  TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    used_at     INTEGER,
    used_by     TEXT    NOT NULL
);

CREATE TABLE api_tokens (
    id          TEXT    NOT NULL PRIMARY KEY,
    name        TEXT    NOT NULL,
    secret_hash BLOB,
    role        TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    revoked_at  INTEGER
);

CREATE TABLE audit_log (
    id     INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    at     INTEGER NOT NULL,
    actor  TEXT    NOT NULL,
    action TEXT    NOT NULL,
    target TEXT    NOT NULL,
    detail TEXT    NOT NULL
);

CREATE TABLE nonces (
    value      BLOB    NOT NULL PRIMARY KEY,
    host       TEXT    NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX nonces_expires_at ON nonces (expires_at);

CREATE TABLE challenges (
    id          TEXT    NOT NULL PRIMARY KEY,
    host        TEXT    NOT NULL,
    group_name  TEXT    NOT NULL,
    request     BLOB,
    secret_hash BLOB,
    expires_at  INTEGER NOT NULL
);

CREATE TABLE webhook_deliveries (
    id              INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    event           TEXT    NOT NULL,
    payload         BLOB,
    created_at      INTEGER NOT NULL,
    attempts        INTEGER NOT NULL,
    next_attempt_at INTEGER NOT NULL,
    delivered_at    INTEGER,
    last_error      TEXT    NOT NULL,
    lease_owner     TEXT    NOT NULL,
    lease_until     INTEGER
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (delivered_at, next_attempt_at);

CREATE TABLE leases (
    name        TEXT    NOT NULL PRIMARY KEY,
    owner       TEXT    NOT NULL,
    lease_until INTEGER NOT NULL
);

CREATE TABLE kv (
    key   TEXT NOT NULL PRIMARY KEY,
    value BLOB
);

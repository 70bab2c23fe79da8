-- Per-attestation summaries are kept raw for a short window only; older ones
-- are folded into one row per host, hour and status (RollUpSummaries), kept
-- for the summary retention. At 10,000 hosts attesting every minute that is
-- 1.7 million small rows a week instead of 100 million.

CREATE TABLE attestation_rollups (
    host                  TEXT    NOT NULL REFERENCES hosts (name) ON DELETE CASCADE,
    hour                  INTEGER NOT NULL, -- start of the UTC hour
    status                TEXT    NOT NULL,
    attestations          INTEGER NOT NULL,
    min_duration_micros   INTEGER NOT NULL,
    max_duration_micros   INTEGER NOT NULL,
    total_duration_micros INTEGER NOT NULL,
    last_at               INTEGER NOT NULL, -- the hour's last attestation with this status
    last_reason_code      TEXT    NOT NULL, -- and its reason code
    PRIMARY KEY (host, hour, status)
) WITHOUT ROWID;
CREATE INDEX attestation_rollups_hour ON attestation_rollups (hour);

-- The values of per-host component classes (policy per_host) pinned on each
-- host: the digests (space-separated lowercase hex, sorted) of the host's
-- components of that class in one bank, since when, and who accepted them
-- ('' when the verifier pinned a first Passed boot). A host's pins go with
-- the host.
CREATE TABLE host_pins (
    host        TEXT    NOT NULL REFERENCES hosts (name) ON DELETE CASCADE,
    class       TEXT    NOT NULL,
    bank        TEXT    NOT NULL,
    digests     TEXT    NOT NULL,
    since       BIGINT  NOT NULL,
    accepted_by TEXT    NOT NULL,
    PRIMARY KEY (host, class)
);

-- The values of per-host component classes (policy per_host) pinned on each
-- host: the digests (space-separated lowercase hex, sorted) of the host's
-- components of that class in one bank, since when, and who accepted them
-- ('' when the verifier pinned a first Passed boot). A host's pins go with
-- the host.
CREATE TABLE host_pins (
    host        TEXT COLLATE "C" NOT NULL REFERENCES hosts (name) ON DELETE CASCADE,
    class       TEXT COLLATE "C" NOT NULL,
    bank        TEXT COLLATE "C" NOT NULL,
    digests     TEXT COLLATE "C" NOT NULL,
    since       BIGINT  NOT NULL,
    accepted_by TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (host, class)
);

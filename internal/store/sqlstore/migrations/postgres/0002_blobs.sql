-- Event logs and bundle files are stored once, by SHA-256, for every host and
-- record that sends the same bytes. A record refers to the set of blobs it was
-- recorded with (one row per distinct set, shared by hosts booting alike), so
-- that each attestation checks one small key instead of every blob, and the
-- blobs no set refers to can be found with an index.

CREATE TABLE blobs (
    hash TEXT COLLATE "C" NOT NULL PRIMARY KEY, -- lower-case hex SHA-256 of data
    data BYTEA
);

CREATE TABLE blob_sets (
    hash TEXT COLLATE "C" NOT NULL PRIMARY KEY -- hex SHA-256 of the sorted member hashes
);

CREATE TABLE blob_set_members (
    set_hash  TEXT COLLATE "C" NOT NULL REFERENCES blob_sets (hash) ON DELETE CASCADE,
    blob_hash TEXT COLLATE "C" NOT NULL REFERENCES blobs (hash),
    PRIMARY KEY (set_hash, blob_hash)
);
CREATE INDEX blob_set_members_blob ON blob_set_members (blob_hash);

ALTER TABLE latest_evidence ADD COLUMN blob_set TEXT COLLATE "C" REFERENCES blob_sets (hash);
CREATE INDEX latest_evidence_blob_set ON latest_evidence (blob_set);
ALTER TABLE status_changes ADD COLUMN blob_set TEXT COLLATE "C" REFERENCES blob_sets (hash);
CREATE INDEX status_changes_blob_set ON status_changes (blob_set);

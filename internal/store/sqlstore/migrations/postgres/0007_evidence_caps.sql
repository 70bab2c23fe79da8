-- A status change's evidence can be dropped (a host over its storage cap or
-- its rate of full evidences, or history past its retention) while the row
-- with its statuses, time, reasons and verdict stays. evidence_bytes is what
-- keeping the evidence costs: the evidence and verdict JSON and the blobs the
-- record was first to store; 0 once dropped (and for changes without
-- evidence). evidence_dropped says why it was dropped. verdict_blob names the
-- blob holding the verdict, kept when the rest of the evidence goes.
ALTER TABLE status_changes ADD COLUMN evidence_bytes BIGINT NOT NULL DEFAULT 0;
ALTER TABLE status_changes ADD COLUMN evidence_dropped TEXT COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE status_changes ADD COLUMN verdict_blob TEXT COLLATE "C" NOT NULL DEFAULT '';
-- Changes recorded before: charged what their rows hold (their blobs were
-- not counted when they were stored).
UPDATE status_changes SET evidence_bytes = COALESCE(length(evidence), 0) + COALESCE(length(verdict), 0)
    WHERE evidence IS NOT NULL;
-- The kept evidence of a host, newest first, and the fleet's, oldest first,
-- without reading the rows whose evidence is gone (a flapping host's many).
CREATE INDEX status_changes_kept ON status_changes (host, at) WHERE evidence_bytes > 0;
CREATE INDEX status_changes_kept_at ON status_changes (at) WHERE evidence_bytes > 0;

-- The unreachable sweep looks for hosts silent since a cutoff. Without an
-- index on last_seen it read every host row inside its write transaction,
-- holding up attestations (120,000 hosts: a full scan every sweep).
CREATE INDEX hosts_last_seen ON hosts (last_seen);

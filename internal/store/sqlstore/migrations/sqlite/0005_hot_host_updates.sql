-- PostgreSQL's migration 0005 drops hosts_last_seen so that an
-- attestation's update of its host is a heap-only tuple there. SQLite has
-- no such updates: every UPDATE rewrites the row's index entries that
-- changed, and the unreachable sweep runs inside the single write
-- transaction, where a full scan of hosts would hold up every attestation.
-- It keeps the index; this file keeps the two dialects' versions aligned.
SELECT 1;

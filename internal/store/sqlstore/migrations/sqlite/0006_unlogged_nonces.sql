-- PostgreSQL's migration 0006 makes the nonces table unlogged (no WAL for
-- rows that live a few seconds). SQLite commits issued nonces in groups
-- with the attestations being recorded (groupcommit.go); this file keeps
-- the two dialects' versions aligned.
SELECT 1;

-- Every attestation updates its host's row (status, last contact, TPM clock)
-- and its latest evidence. PostgreSQL writes such an update as a heap-only
-- tuple (HOT: no new index entries; the old version is pruned within its
-- page, without index vacuuming) only when no indexed column changes and
-- the page has room for the new version. With hosts_last_seen (0004) every
-- attestation changed an indexed column, so each UPDATE of hosts wrote an
-- entry into all six of its indexes (none of 60,000 updates was HOT in a
-- load run; pg_stat_statements: 7.4 WAL records per UPDATE), and vacuum
-- had to clean all six.
--
-- The unreachable sweep (one replica, every few seconds) now reads hosts in
-- a sequential scan instead: on PostgreSQL that scan blocks no writer
-- (unlike SQLite, which keeps the index), and it reads the table once per
-- sweep where the index cost every attestation.
--
-- The fill factors leave room in each page for the next version of its
-- rows. They apply to pages written from now on; VACUUM FULL (or pg_repack)
-- applies them to a table's existing pages.
DROP INDEX IF EXISTS hosts_last_seen;
ALTER TABLE hosts SET (fillfactor = 70);
ALTER TABLE latest_evidence SET (fillfactor = 70);

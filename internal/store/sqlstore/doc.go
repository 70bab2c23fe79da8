// Package sqlstore implements store.Store on SQLite (modernc.org/sqlite, pure
// Go, one file, nothing to run) and on PostgreSQL (pgx), for verifier
// replicas that share one database.
//
// The SQL is written by hand, once, in the syntax both dialects accept, with
// '?' placeholders rebound to '$n' for PostgreSQL; the dialect type holds only
// what differs (row locks). Queries are constants beside the methods that
// run them, one file per table group. The schema comes from numbered
// migrations per dialect (migrations/), embedded and applied at Open.
//
// It trusts its callers and the database; it interprets no blob it stores.
package sqlstore

// Package pgtest starts a throwaway PostgreSQL server for tests: initdb into
// a temporary directory, then postgres on a unix socket there (no TCP), one
// server per test binary, one fresh database per Start.
//
// It looks for initdb and postgres on PATH, then under
// /usr/lib/postgresql/*/bin, and skips the test when they are absent. As
// root (CI) it runs them as the unprivileged user "nobody", since PostgreSQL
// refuses to run as root.
//
// Use it only from tests. Call Stop (or use Main) from TestMain so the server
// ends with the test binary.
package pgtest

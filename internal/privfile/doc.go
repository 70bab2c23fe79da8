// Package privfile keeps folders of secrets private to their owner. The
// verifier's data folder holds the SQLite database with the CA and
// trust-token signing keys and the first admin token; the agent's state
// folder holds its client key. Both are created 0700 with files 0600
// whatever the umask, and a program refuses to start on one that group or
// others may read or write, naming the path, its mode and the chmod that
// fixes it: a key that may have been read is not a key to keep using
// silently.
package privfile

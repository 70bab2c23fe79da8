// Package auth holds API tokens and roles. A token is "bp_<id>_<secret>";
// only the SHA-256 of the secret is stored, so a copy of the database does
// not let anyone call the API. Roles are ordered: viewer < operator < admin.
package auth

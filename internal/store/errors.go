package store

import "errors"

// Sentinel errors. Implementations wrap them with context; callers test them
// with errors.Is.
var (
	// ErrNotFound: the record does not exist (or, for single-use records
	// such as nonces and challenges, has expired or was already taken).
	ErrNotFound = errors.New("not found")
	// ErrConflict: a record with the same key exists, or the change would
	// break a rule of the store (deleting a group that still has hosts).
	ErrConflict = errors.New("conflict")
	// ErrExpired: a join token was presented after its expiry.
	ErrExpired = errors.New("expired")
	// ErrUsed: a single-use join token was already used.
	ErrUsed = errors.New("already used")
	// ErrCredentialChanged: RecordAttestation's host no longer has the
	// credential the verdict was judged with (AttestationRecord.Credential):
	// it enrolled again or its AK was replaced meanwhile.
	ErrCredentialChanged = errors.New("host credential changed")
)

package verifier

import (
	"errors"
	"fmt"
)

// Kind says what sort of refusal an Error is; adapters map it to a status.
type Kind int

// Kinds of refusal.
const (
	KindInvalid      Kind = iota + 1 // the request is malformed
	KindUnauthorized                 // missing or bad credentials
	KindForbidden                    // valid credentials, not allowed
	KindNotFound                     // no such thing
	KindConflict                     // the request clashes with what is stored
	KindTooLarge                     // the request is over a size limit
)

// Error is a refusal the caller should see: a stable code and a sentence.
type Error struct {
	Kind    Kind
	Code    string
	Message string
}

func (e *Error) Error() string { return fmt.Sprintf("%s: %s", e.Code, e.Message) }

func refuse(kind Kind, code, format string, args ...any) *Error {
	return &Error{Kind: kind, Code: code, Message: fmt.Sprintf(format, args...)}
}

// AsError returns the refusal inside err, if any.
func AsError(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}

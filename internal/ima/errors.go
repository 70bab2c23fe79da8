package ima

import "fmt"

// Stable error codes; appraisal maps them to check codes.
const (
	CodeParse         = "ima.parse"          // the list's framing is broken
	CodeTemplateHash  = "ima.template_hash"  // an entry's template hash is not SHA-1 of its data
	CodeReplay        = "ima.replay"         // the entries do not replay to the quoted PCR values
	CodeBootAggregate = "ima.boot_aggregate" // boot_aggregate does not match the quoted boot PCRs
)

// ParseError says what is wrong with the list and where.
type ParseError struct {
	Entry  uint64 // index of the entry being read
	Offset uint64 // byte offset in the whole list where the problem is
	Msg    string
}

func (e *ParseError) Error() string {
	return fmt.Sprintf("%s: entry %d at byte %d: %s", CodeParse, e.Entry, e.Offset, e.Msg)
}

// Code is the stable code of the error.
func (e *ParseError) Code() string { return CodeParse }

// EntryError is a replay or aggregate failure that names one entry.
type EntryError struct {
	Reason string // one of the Code constants
	Entry  uint64
	Path   string
	Msg    string
}

func (e *EntryError) Error() string {
	if e.Path != "" {
		return fmt.Sprintf("%s: entry %d (%s): %s", e.Reason, e.Entry, e.Path, e.Msg)
	}
	return fmt.Sprintf("%s: entry %d: %s", e.Reason, e.Entry, e.Msg)
}

// Code is the stable code of the error.
func (e *EntryError) Code() string { return e.Reason }

// ReplayError says which bank of which PCR the entries do not reach.
type ReplayError struct {
	Bank     string // "sha256"
	PCR      uint32
	Entries  uint64 // entries replayed (the whole list given)
	Quoted   []byte
	Computed []byte // the value after the last entry
	Msg      string
}

func (e *ReplayError) Error() string {
	return fmt.Sprintf("%s: %s PCR %d: %s (quoted %x, computed %x after %d entries)",
		CodeReplay, e.Bank, e.PCR, e.Msg, e.Quoted, e.Computed, e.Entries)
}

// Code is the stable code of the error.
func (e *ReplayError) Code() string { return CodeReplay }

// Error is a failure that concerns the list or the quote as a whole, not
// one entry or bank value: a quote without PCR 10, a bank the state lacks.
type Error struct {
	Reason string // one of the Code constants
	Msg    string
}

func (e *Error) Error() string { return e.Reason + ": " + e.Msg }

// Code is the stable code of the error.
func (e *Error) Code() string { return e.Reason }

func replayErr(format string, a ...any) error {
	return &Error{Reason: CodeReplay, Msg: fmt.Sprintf(format, a...)}
}

package measure

import "fmt"

// FormatError says what is wrong with a file and where: the byte offset
// of the field or structure that is bad. Callers that read many files
// (policy add) name the file; this names the place in it.
type FormatError struct {
	// Part is the structure being read ("PE header", "section 3 (.text)",
	// "Linux boot header", ".sbat line 2").
	Part string
	// Offset is the byte offset in the file of what is wrong.
	Offset int64
	// Msg says what is wrong.
	Msg string
}

func (e *FormatError) Error() string {
	return fmt.Sprintf("%s at offset %#x: %s", e.Part, e.Offset, e.Msg)
}

func formatErr(part string, off int64, format string, args ...any) error {
	return &FormatError{Part: part, Offset: off, Msg: fmt.Sprintf(format, args...)}
}

package sqlstore

import (
	"database/sql"
	"time"
)

// Times are stored as integer microseconds since the Unix epoch in both
// dialects, so that both round-trip the same values (UTC, microseconds).
// The zero time.Time is stored as 0 and read back as the zero time.

func micros(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

func fromMicros(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMicro(v).UTC()
}

// nullMicros stores a nil *time.Time as NULL.
func nullMicros(t *time.Time) any {
	if t == nil {
		return nil
	}
	return micros(*t)
}

func fromNullMicros(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := fromMicros(v.Int64)
	return &t
}

// blob stores empty bytes as NULL, so that nil and empty read back alike
// (nil) from both dialects.
func blob(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return b
}

// fromBlob returns nil for empty bytes and a copy otherwise: drivers may
// reuse the scan buffer.
func fromBlob(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return append([]byte(nil), b...)
}

// truncate rounds t down to what the store keeps, for comparisons in Go.
func truncate(t time.Time) time.Time {
	return fromMicros(micros(t))
}

package sqlstore

import (
	"context"
	"fmt"
	"strings"

	"github.com/bootproof/bootproof/internal/store"
)

// qScanLatest pages through hosts with their latest evidence by name (the
// primary keys of both tables), so that each page is an index range and
// the stream costs the same per host at its end as at its start.
var qScanLatest = `SELECT ` + hostColumnsOf("h") + `, l.at, l.evidence, l.verdict, l.status, l.policy_version
	FROM hosts h JOIN latest_evidence l ON l.host = h.name
	WHERE h.name > ? AND (? = '' OR h.group_name = ?) ORDER BY h.name LIMIT ?`

// ScanLatestEvidence returns one page of hosts with their latest evidence.
func (s *Store) ScanLatestEvidence(ctx context.Context, group, after string, limit int) ([]store.HostEvidence, error) {
	rows, err := s.read().query(ctx, qScanLatest, after, group, group, pageLimit(limit))
	if err != nil {
		return nil, fmt.Errorf("scan latest evidence of group %q after %q: %w", group, after, err)
	}
	defer rows.Close()
	var out []store.HostEvidence
	for rows.Next() {
		var he store.HostEvidence
		var at int64
		var ev, vd []byte
		h, err := scanHost(scanWith(rows, &at, &ev, &vd, &he.Latest.Status, &he.Latest.PolicyVersion))
		if err != nil {
			return nil, fmt.Errorf("scan latest evidence of group %q: %w", group, err)
		}
		he.Host = h
		he.Latest.Host, he.Latest.At, he.Latest.Evidence, he.Latest.Verdict = h.Name, fromMicros(at), fromBlob(ev), fromBlob(vd)
		out = append(out, he)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("scan latest evidence of group %q: %w", group, err)
	}
	return out, nil
}

// extraScanner scans a row whose leading columns another scan function
// reads, and its trailing ones into extra.
type extraScanner struct {
	r     scanner
	extra []any
}

func scanWith(r scanner, extra ...any) scanner { return extraScanner{r: r, extra: extra} }

func (e extraScanner) Scan(dest ...any) error { return e.r.Scan(append(dest, e.extra...)...) }

// hostColumnsOf is hostColumns qualified with table alias t (latest_evidence
// has a status column too).
func hostColumnsOf(t string) string {
	cols := strings.Split(hostColumns, ",")
	for i, c := range cols {
		cols[i] = t + "." + strings.TrimSpace(c)
	}
	return strings.Join(cols, ", ")
}

package sqlstore_test

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/bootproof/bootproof/internal/store"
)

// FuzzListHosts feeds API-controlled query fields (filter, search, sort,
// paging) to ListHosts on SQLite: it must never panic or fail with a SQL
// error, only refuse an unknown sort column, a negative offset or text that
// is not UTF-8, and the
// hosts it returns must match the filters.
func FuzzListHosts(f *testing.F) {
	f.Add("", "", "", "", false, 0, 0)
	f.Add(store.StatusPassed, "prod", "esx", "last_attested", true, 10, 2)
	f.Add("N/A", "lab", "%_\\'\"", "status", false, -1, 0)
	f.Add("", "", "'; DROP TABLE hosts; --", "name; DROP TABLE hosts", false, 1, -5)
	f.Add("", "", "ÉSX\x00\xff", "group", true, 3, 1<<40)
	s := newSQLite(f)
	for i, name := range []string{"esx-01", "ESX-02", "kvm_01", "kvm%02", "weird'name", "ÉSX-ü"} {
		h := store.Host{Name: name, Group: []string{"prod", "lab"}[i%2], Status: store.Statuses[i%len(store.Statuses)]}
		if err := s.CreateHost(f.Context(), h); err != nil {
			f.Fatalf("CreateHost: %v", err)
		}
	}
	f.Fuzz(func(t *testing.T, status, group, search, sort string, desc bool, limit, offset int) {
		q := store.HostQuery{Status: status, Group: group, Search: search, Sort: sort, Desc: desc, Limit: limit, Offset: offset}
		hosts, total, err := s.ListHosts(t.Context(), q)
		validSort := false
		for _, c := range append(store.HostSortColumns, "") {
			validSort = validSort || c == sort
		}
		validText := true
		for _, v := range []string{status, group, search} {
			validText = validText && utf8.ValidString(v) && !strings.ContainsRune(v, 0)
		}
		if !validSort || offset < 0 || !validText {
			if err == nil {
				t.Fatalf("ListHosts(%+v) accepted an invalid query", q)
			}
			return
		}
		if err != nil {
			t.Fatalf("ListHosts(%+v): %v", q, err)
		}
		if total < len(hosts) || (limit > 0 && len(hosts) > limit) {
			t.Fatalf("ListHosts(%+v) = %d hosts of %d", q, len(hosts), total)
		}
		for _, h := range hosts {
			if (status != "" && h.Status != status) || (group != "" && h.Group != group) ||
				!strings.Contains(asciiLower(h.Name), asciiLower(search)) {
				t.Fatalf("ListHosts(%+v) returned %+v, which does not match", q, h)
			}
		}
	})
}

// asciiLower lowers ASCII letters only, as SQL LOWER does in both dialects
// without ICU.
func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

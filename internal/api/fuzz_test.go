package api

import (
	"errors"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// FuzzRequestInput feeds the API's input parsers (strict JSON bodies and
// paging and filter parameters) arbitrary bytes: each must accept or refuse
// with a client error, never panic or fail with an internal error.
func FuzzRequestInput(f *testing.F) {
	f.Add([]byte(`{"group":"lab","host":"esx-01","ttl":"1h"}`), "limit=10&offset=5&status=Passed&sort=name")
	f.Add([]byte(`{"group": `), "limit=0")
	f.Add([]byte(`{} {}`), "offset=-1&sort=secret")
	f.Add([]byte(`{"ttl":1}`), "limit=99999999999999999999")
	f.Fuzz(func(t *testing.T, body []byte, query string) {
		r := httptest.NewRequest("POST", "/api/v1/join-tokens?"+url.PathEscape(query), strings.NewReader(string(body)))
		r.URL.RawQuery = query
		w := httptest.NewRecorder()
		var req JoinTokenRequest
		for _, err := range []error{decode(w, r, 4<<10, &req), func() error { _, _, err := pageParams(r); return err }(),
			func() error { _, err := hostQuery(r); return err }()} {
			if err == nil {
				continue
			}
			var he *httpError
			if !errors.As(err, &he) || he.Status < 400 || he.Status >= 500 || he.Body.Code == "" || he.Body.Message == "" {
				t.Fatalf("refusal %v is not a clear client error", err)
			}
		}
		if limit, offset, err := pageParams(r); err == nil && (limit < 1 || limit > 1000 || offset < 0) {
			t.Fatalf("pageParams accepted limit %d offset %d", limit, offset)
		}
	})
}

package web

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParseFleetQuery(t *testing.T) {
	def := FleetQuery{Sort: SortStatus, Page: 1, PageSize: DefaultPageSize}
	tests := []struct {
		raw     string
		want    FleetQuery
		wantErr string
	}{
		{raw: "", want: def},
		{raw: "status=n%2Fa&group=prod&q=+esx+&sort=since&order=desc&page=3&size=50",
			want: FleetQuery{Status: StatusNA, Group: "prod", Search: "esx", Sort: SortSince, Desc: true, Page: 3, PageSize: 50}},
		{raw: "order=asc", want: def},
		{raw: "status=", want: def},
		{raw: "status=Good", wantErr: `query parameter "status": unknown status "Good"`},
		{raw: "sort=name%3Bdrop", wantErr: `query parameter "sort": unknown column`},
		{raw: "order=sideways", wantErr: `query parameter "order"`},
		{raw: "page=-1", wantErr: `query parameter "page": "-1" is not a whole number from 1 to 1000000`},
		{raw: "page=1e3", wantErr: `query parameter "page"`},
		{raw: "size=0", wantErr: `query parameter "size": "0" is not a whole number from 1 to 1000`},
		{raw: "q=" + strings.Repeat("%C3%A9", 200), wantErr: `query parameter "q": 400 bytes, longer than the limit of 256`},
		{raw: "group=%C3", wantErr: `query parameter "group": not valid UTF-8`},
	}
	for _, tt := range tests {
		v, err := url.ParseQuery(tt.raw)
		if err != nil {
			t.Fatal(err)
		}
		got, err := ParseFleetQuery(v)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ParseFleetQuery(%q) error = %v, want %q", tt.raw, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseFleetQuery(%q): %v", tt.raw, err)
			continue
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("ParseFleetQuery(%q) (-want +got):\n%s", tt.raw, diff)
		}
	}
}

// FuzzParseFleetQuery checks that any URL query either is refused with an
// error or parses to a query that survives a round trip through a link.
func FuzzParseFleetQuery(f *testing.F) {
	for _, s := range []string{"", "status=Failed&group=a&q=b&sort=name&order=desc&page=2&size=10",
		"status=N%2FA", "q=%ff", "page=99999999999999999999", "size=-1", "sort=&order=", "q=%20%20"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		v, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		q, err := ParseFleetQuery(v)
		if err != nil {
			return
		}
		again, err := ParseFleetQuery(q.Values())
		if err != nil {
			t.Fatalf("ParseFleetQuery(%q) = %+v, whose own link %q is refused: %v", raw, q, q.Values().Encode(), err)
		}
		if diff := cmp.Diff(q, again); diff != "" {
			t.Fatalf("round trip of %q changed the query (-first +again):\n%s", raw, diff)
		}
	})
}

func TestRelative(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want string
	}{
		{0, "just now"},
		{9 * time.Second, "just now"},
		{45 * time.Second, "45 s ago"},
		{5*time.Minute + 10*time.Second, "5 min ago"},
		{3 * time.Hour, "3 h ago"},
		{47 * time.Hour, "47 h ago"},
		{72 * time.Hour, "3 days ago"},
		{-2 * time.Minute, "in 2 min"},
	}
	for _, tt := range tests {
		if got := relative(tt.d); got != tt.want {
			t.Errorf("relative(%v) = %q, want %q", tt.d, got, tt.want)
		}
	}
}

func TestPrincipalCan(t *testing.T) {
	tests := []struct {
		role, min string
		want      bool
	}{
		{RoleViewer, RoleViewer, true},
		{RoleViewer, RoleOperator, false},
		{RoleOperator, RoleViewer, true},
		{RoleOperator, RoleOperator, true},
		{RoleAdmin, RoleOperator, true},
		{"", RoleViewer, false},
		{"root", RoleViewer, false},
		{RoleAdmin, "superuser", false},
	}
	for _, tt := range tests {
		if got := (Principal{Role: tt.role}).Can(tt.min); got != tt.want {
			t.Errorf("Principal{Role: %q}.Can(%q) = %v, want %v", tt.role, tt.min, got, tt.want)
		}
	}
}

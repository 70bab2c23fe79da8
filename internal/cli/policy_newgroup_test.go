package cli

import (
	"testing"

	"github.com/bootproof/bootproof/internal/policy"
)

// TestRequireReferences: a new group's policy requires reference values
// unless its document says otherwise; what is added parses to the same
// policy with references_required set.
func TestRequireReferences(t *testing.T) {
	tests := []struct {
		name, doc string
		added     bool
		want      bool // references_required of the policy sent
	}{
		{"not set: required", "interval: 1m\n", true, true},
		{"a leading document marker", "---\ninterval: 1m\n", true, true},
		{"told otherwise", "references_required: false\ninterval: 1m\n", false, false},
		{"set already", "references_required: true\n", false, true},
		{"per-host classes only", "per_host: [initrd]\n", true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, added := requireReferences([]byte(tt.doc))
			p, err := policy.Parse(out)
			if err != nil {
				t.Fatalf("the document sent does not parse: %v\n%s", err, out)
			}
			if added != tt.added || p.ReferencesRequired != tt.want {
				t.Errorf("added %v, references_required %v; want %v, %v", added, p.ReferencesRequired, tt.added, tt.want)
			}
		})
	}
	for _, bad := range []string{"- a list\n", "not: [closed\n"} {
		if out, added := requireReferences([]byte(bad)); added || string(out) != bad {
			t.Errorf("a document that is not a mapping (%q) was changed to %q", bad, out)
		}
	}
}

package storetest

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/bootproof/bootproof/internal/store"
)

// testHostPins: the first pin of a host and class wins unless replaced, an
// accept replaces it, pins read back as stored (times in UTC micros, an
// empty value as no digests), a removed host's pins go with it, and a pin
// of a host that is not there is ErrNotFound.
func testHostPins(t *testing.T, s store.Store) {
	mustCreateHost(t, s, newHost("h1", "prod"))
	mustCreateHost(t, s, newHost("h2", "prod"))
	first := store.HostPin{Host: "h1", Class: "initrd", Bank: "sha256", Digests: []string{"aa", "bb"}, Since: at(0)}
	empty := store.HostPin{Host: "h1", Class: "boot_config", Bank: "sha256", Digests: []string{}, Since: at(0)}
	other := store.HostPin{Host: "h2", Class: "initrd", Bank: "sha256", Digests: []string{"cc"}, Since: at(0)}
	later := store.HostPin{Host: "h1", Class: "initrd", Bank: "sha384", Digests: []string{"dd"}, Since: at(60e9), AcceptedBy: "op"}
	steps := []struct {
		name    string
		pins    []store.HostPin
		replace bool
		want    []store.HostPin // h1's pins after the step
	}{
		{"first boot pins", []store.HostPin{first, empty, other}, false, []store.HostPin{empty, first}},
		{"a later first pin keeps the old", []store.HostPin{later}, false, []store.HostPin{empty, first}},
		{"accept replaces", []store.HostPin{later}, true, []store.HostPin{empty, later}},
	}
	for _, st := range steps {
		if err := s.PutPins(ctx(t), st.pins, st.replace); err != nil {
			t.Fatalf("%s: PutPins: %v", st.name, err)
		}
		got, err := s.HostPins(ctx(t), "h1")
		if err != nil {
			t.Fatalf("%s: HostPins: %v", st.name, err)
		}
		if diff := cmp.Diff(st.want, got); diff != "" {
			t.Fatalf("%s: HostPins(h1) (-want +got):\n%s", st.name, diff)
		}
	}
	err := s.PutPins(ctx(t), []store.HostPin{{Host: "gone", Class: "initrd", Bank: "sha256", Since: at(0)}}, true)
	wantErr(t, "PutPins(unknown host)", err, store.ErrNotFound)
	if err := s.DeleteHost(ctx(t), "h1"); err != nil {
		t.Fatal(err)
	}
	mustCreateHost(t, s, newHost("h1", "prod"))
	if got, err := s.HostPins(ctx(t), "h1"); err != nil || len(got) != 0 {
		t.Errorf("HostPins of a removed host enrolled again = %v, %v; want none", got, err)
	}
	if got, err := s.HostPins(ctx(t), "h2"); err != nil || !cmp.Equal(got, []store.HostPin{other}) {
		t.Errorf("HostPins(h2) = %v, %v; want its own pin kept", got, err)
	}
}

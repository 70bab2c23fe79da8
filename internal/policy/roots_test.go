package policy

import (
	"crypto/x509"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bootproof/bootproof/internal/bundle"
)

// testRoot makes a vendor root certificate in PEM.
func testRoot(t testing.TB, vendor string) (string, *x509.Certificate) {
	t.Helper()
	k, err := bundle.Keygen(bundle.KeygenOptions{Vendor: vendor, NotBefore: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	return string(bundle.CertsPEM(k.Root)), k.Root
}

func rootNames(certs []*x509.Certificate) []string {
	var out []string
	for _, c := range certs {
		out = append(out, c.Subject.CommonName)
	}
	return out
}

// TestTrustedRootCertsFollowsContent changes, copies and reuses policies
// around the memo: every answer must be what parsing the current text gives.
func TestTrustedRootCertsFollowsContent(t *testing.T) {
	pemA, _ := testRoot(t, "Vendor A")
	pemB, _ := testRoot(t, "Vendor B")
	p := Default()
	steps := []struct {
		name  string
		edit  func(p *Policy) *Policy
		want  []string
		error string
	}{
		{"one root", func(p *Policy) *Policy { p.Bundles.TrustedRoots = []string{pemA}; return p }, []string{"Vendor A Root CA"}, ""},
		{"same root again, from the memo", func(p *Policy) *Policy { return p }, []string{"Vendor A Root CA"}, ""},
		{"entry replaced in place", func(p *Policy) *Policy { p.Bundles.TrustedRoots[0] = pemB; return p }, []string{"Vendor B Root CA"}, ""},
		{"clone changed, original kept", func(p *Policy) *Policy {
			c := p.Clone()
			c.Bundles.TrustedRoots = append(c.Bundles.TrustedRoots, pemA)
			return c
		}, []string{"Vendor B Root CA", "Vendor A Root CA"}, ""},
		{"two certificates in one entry", func(p *Policy) *Policy { p.Bundles.TrustedRoots = []string{pemA + pemB}; return p },
			[]string{"Vendor A Root CA", "Vendor B Root CA"}, ""},
		{"a bad entry after a remembered one", func(p *Policy) *Policy { p.Bundles.TrustedRoots = []string{pemA, "junk"}; return p },
			nil, "bundles.trusted_roots[1]: no PEM certificate"},
		{"the bad entry again: not remembered", func(p *Policy) *Policy { return p }, nil, "bundles.trusted_roots[1]: no PEM certificate"},
		{"a remembered entry with text after it", func(p *Policy) *Policy { p.Bundles.TrustedRoots = []string{pemA + "x"}; return p },
			nil, "bundles.trusted_roots[0]: text after the last PEM block"},
		{"no roots", func(p *Policy) *Policy { p.Bundles.TrustedRoots = nil; return p }, nil, ""},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			p = s.edit(p)
			got, err := p.TrustedRootCerts()
			if s.error != "" {
				if err == nil || err.Error() != s.error {
					t.Fatalf("TrustedRootCerts() = %v, %v; want error %q", rootNames(got), err, s.error)
				}
				if verr := p.Validate(); verr == nil || !strings.Contains(verr.Error(), s.error) {
					t.Errorf("Validate() = %v, want it to contain %q", verr, s.error)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(rootNames(got)) != fmt.Sprint(s.want) {
				t.Errorf("TrustedRootCerts() = %v, want %v", rootNames(got), s.want)
			}
			// The slice is the caller's: overwriting it must not reach
			// the next caller.
			for i := range got {
				got[i] = nil
			}
			again, err := p.TrustedRootCerts()
			if err != nil || fmt.Sprint(rootNames(again)) != fmt.Sprint(s.want) {
				t.Errorf("after the caller overwrote its slice: %v, %v; want %v", rootNames(again), err, s.want)
			}
		})
	}
}

func TestRootMemoIsBounded(t *testing.T) {
	m := newRootMemo(2)
	var pems []string
	for i := range 5 {
		s, _ := testRoot(t, fmt.Sprintf("Bounded %d", i))
		pems = append(pems, s)
	}
	for i, s := range pems {
		certs, err := m.parse(s)
		if err != nil || len(certs) != 1 || certs[0].Subject.CommonName != fmt.Sprintf("Bounded %d Root CA", i) {
			t.Fatalf("parse(root %d) = %v, %v", i, rootNames(certs), err)
		}
		if n := memoLen(m); n > m.entries.Max() {
			t.Errorf("after %d roots: %d entries, at most %d", i+1, n, m.entries.Max())
		}
	}
	// Text too large to remember is parsed and not kept.
	big := pems[0] + strings.Repeat("\n", maxMemoRootText)
	if _, err := m.parse(big); err != nil {
		t.Fatal(err)
	}
	if _, ok := m.entries.Get(big); ok {
		t.Errorf("an entry of %d bytes was remembered; the limit is %d", len(big), maxMemoRootText)
	}
}

func memoLen(m *rootMemo) int { return m.entries.Len() }

// TestValidateConcurrent shares one policy among goroutines, as the
// verifier does; run with -race.
func TestValidateConcurrent(t *testing.T) {
	p, err := Parse(readTestdata(t, "full.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	extra, _ := testRoot(t, "Concurrent")
	p.Bundles.TrustedRoots = append(p.Bundles.TrustedRoots, extra)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 50 {
				if err := p.Validate(); err != nil {
					t.Error(err)
					return
				}
				if roots, err := p.TrustedRootCerts(); err != nil || len(roots) != 2 {
					t.Errorf("TrustedRootCerts() = %d roots, %v; want 2", len(roots), err)
					return
				}
			}
		})
	}
	wg.Wait()
}

// TestValidateAllocatesNothing holds the hot path to its promise: a valid
// policy whose roots were seen before validates without allocating.
func TestValidateAllocatesNothing(t *testing.T) {
	p, err := Parse(readTestdata(t, "full.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(100, func() { _ = p.Validate() }); n != 0 {
		t.Errorf("Validate() of a valid policy: %v allocations, want 0", n)
	}
}

func TestCheckHex(t *testing.T) {
	tests := []struct {
		in   string
		size int
		want string // error, or "" for none
	}{
		{"00ff", 2, ""},
		{"00FF", 2, `"00FF": want lowercase hex`},
		{"00GG", 2, `"00GG": want lowercase hex`},
		{"00gg", 2, `"00gg": not hex`},
		{"00f", 2, `"00f": not hex`},
		{"00ff00", 2, `"00ff00": 3 bytes, want 2`},
		{"", 2, `"": 0 bytes, want 2`},
		{"é0", 1, `"é0": not hex`},
	}
	for _, tt := range tests {
		err := checkHex(tt.in, tt.size)
		got := ""
		if err != nil {
			got = err.Error()
		}
		if got != tt.want {
			t.Errorf("checkHex(%q, %d) = %q, want %q", tt.in, tt.size, got, tt.want)
		}
	}
}

func BenchmarkValidate(b *testing.B) {
	p, err := Parse(readTestdata(b, "full.yaml"))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := p.Validate(); err != nil {
			b.Fatal(err)
		}
	}
}

package appraisal

import (
	"crypto/x509"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/bootproof/bootproof/internal/bundle"
	"github.com/bootproof/bootproof/internal/policy"
	"github.com/bootproof/bootproof/internal/wire"
)

// memoCase is a host's bundle inventory and the policy and time it is
// judged under.
type memoCase struct {
	name   string
	files  [][]byte
	policy func(p *policy.Policy)
	now    time.Time
	want   Status
	failed []string
	// kept is how many of the files a memo keeps: those that verify.
	kept int
}

// bundleMemoCases are the cases of TestAppraiseBundles, and the ones a
// memo could get wrong: a certificate that expires or is not yet valid, the
// roots changing under a remembered file, the same file twice.
func bundleMemoCases(t *testing.T) []memoCase {
	vendor := vendorKeys(t, "Example OS Vendor")
	other := vendorKeys(t, "Nobody We Know")
	trust := func(p *policy.Policy) { p.Bundles.TrustedRoots = []string{rootPEM(vendor)} }
	initrd := map[string][]byte{"initrd.img-6.7.0": initrdImage}
	good := signBundle(t, vendor, "initrd", bundle.Certified, initrd)
	short := shortLivedKeys(t, "Short Lived Vendor")
	trustShort := func(p *policy.Policy) { p.Bundles.TrustedRoots = []string{rootPEM(short)} }
	fromShort := signBundle(t, short, "initrd", bundle.Certified, initrd)
	return []memoCase{
		{name: "signed bundle covers the measured module", files: [][]byte{good}, policy: trust, want: Passed, kept: 1},
		{name: "bundle signed by an untrusted vendor", policy: trust, want: Failed, failed: []string{CodeBundleSignature},
			files: [][]byte{signBundle(t, other, "initrd", bundle.Certified, initrd)}},
		{name: "bundle below the minimum acceptance", policy: trust, want: Failed, failed: []string{CodeBundleAcceptance}, kept: 1,
			files: [][]byte{signBundle(t, vendor, "initrd", bundle.Community, initrd)}},
		{name: "community bundle allowed by the policy", want: Passed, kept: 1,
			policy: func(p *policy.Policy) { trust(p); p.Bundles.MinAcceptance = "community" },
			files:  [][]byte{signBundle(t, vendor, "initrd", bundle.Community, initrd)}},
		{name: "bundle payload never measured", policy: trust, want: Failed, failed: []string{CodeBundleNotMeasured}, kept: 2,
			files: [][]byte{good, signBundle(t, vendor, "driver", bundle.Certified, map[string][]byte{"driver.v00": []byte("never loaded")})}},
		{name: "measured module in no bundle", policy: trust, want: Failed, failed: []string{CodeBundleUnmeasured}},
		{name: "bundle payload differs from what was measured", policy: trust, want: Failed, failed: []string{CodeBundleDigest}, kept: 1,
			files: [][]byte{signBundle(t, vendor, "initrd", bundle.Certified, map[string][]byte{"initrd.img-6.7.0": []byte("another initrd")})}},
		{name: "bundle file that is not a bundle", policy: trust, want: Failed, failed: []string{CodeBundleSignature, CodeBundleUnmeasured},
			files: [][]byte{[]byte("{}")}},
		{name: "the same bundle twice", files: [][]byte{good, good}, policy: trust, want: Passed, kept: 1},
		{name: "no trusted roots", files: [][]byte{good}, want: Failed, failed: []string{CodeBundleSignature}},
		{name: "short-lived signer, valid", files: [][]byte{fromShort}, policy: trustShort, want: Passed, kept: 1},
		{name: "short-lived signer, expired", files: [][]byte{fromShort}, policy: trustShort, now: testNow.Add(25 * time.Hour),
			want: Failed, failed: []string{CodeBundleSignature}},
		{name: "short-lived signer, not yet valid", files: [][]byte{fromShort}, policy: trustShort, now: testNow.Add(-25 * time.Hour),
			want: Failed, failed: []string{CodeBundleSignature}},
	}
}

// shortLivedKeys makes a vendor whose certificates are valid from a day
// before testNow to a day after it.
func shortLivedKeys(t testing.TB, vendor string) *bundle.Keys {
	t.Helper()
	r := &detRand{}
	copy(r.state[:], vendor)
	k, err := bundle.Keygen(bundle.KeygenOptions{Vendor: vendor, NotBefore: testNow.Add(-24 * time.Hour), Validity: 48 * time.Hour, Rand: r})
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// memoFixture appraises one honest Secure Boot host with any inventory.
type memoFixture struct {
	golden *policy.Policy
	ak     []byte
	ev     *wire.Evidence
}

func newMemoFixture(t *testing.T) *memoFixture {
	h := boot(t, testBanks, standardBoot(t, sb))
	return &memoFixture{golden: goldenPolicy(t), ak: h.akPublic(akECC), ev: h.evidence(nil)}
}

func (f *memoFixture) appraise(t testing.TB, c memoCase, m *BundleMemo) *Verdict {
	t.Helper()
	p := f.golden.Clone()
	if c.policy != nil {
		c.policy(p)
	}
	ev := *f.ev
	ev.Bundles = c.files
	now := c.now
	if now.IsZero() {
		now = testNow
	}
	v, err := Appraise(Input{Evidence: &ev, AKPublic: f.ak, Nonce: testNonce, Policy: p, Now: now, BundleMemo: m})
	if err != nil {
		t.Fatalf("Appraise: %v", err)
	}
	return v
}

// TestBundleMemoSameVerdicts appraises every case with no memo, a fresh
// memo, the same memo warm, and one memo shared by all cases, which is warm
// with every other case's files; every verdict must be the one without a
// memo, to the last message.
func TestBundleMemoSameVerdicts(t *testing.T) {
	f := newMemoFixture(t)
	shared := NewBundleMemo(DefaultBundleMemoEntries)
	cases := bundleMemoCases(t)
	// Twice round, so the shared memo is warm with every case the second
	// time, including the times before and after the short-lived expiry.
	for round := range 2 {
		for _, c := range cases {
			t.Run(fmt.Sprintf("%s/round %d", c.name, round), func(t *testing.T) {
				want := f.appraise(t, c, nil)
				if want.Status != c.want {
					t.Fatalf("without a memo: %s, want %s; failures %+v", want.Status, c.want, want.Failures())
				}
				if diff := cmp.Diff(c.failed, failedCodes(want)); diff != "" {
					t.Fatalf("without a memo, failed checks (-want +got):\n%s", diff)
				}
				fresh := NewBundleMemo(DefaultBundleMemoEntries)
				for _, run := range []struct {
					name string
					memo *BundleMemo
				}{{"fresh memo", fresh}, {"warm memo", fresh}, {"shared memo", shared}} {
					if diff := cmp.Diff(want, f.appraise(t, c, run.memo)); diff != "" {
						t.Errorf("%s: verdict differs from no memo (-without +with):\n%s", run.name, diff)
					}
				}
				if fresh.entries.Len() != c.kept || memoLen(fresh) != c.kept {
					t.Errorf("memo keeps %d entries (count %d), want %d: only files that verify", memoLen(fresh), fresh.entries.Len(), c.kept)
				}
			})
		}
	}
}

// TestBundleMemoExpiry: a bundle remembered while its certificates were
// valid fails once they expire, and is taken from the memo again when the
// clock is back inside their validity.
func TestBundleMemoExpiry(t *testing.T) {
	f := newMemoFixture(t)
	k := shortLivedKeys(t, "Short Lived Vendor")
	file := signBundle(t, k, "initrd", bundle.Certified, map[string][]byte{"initrd.img-6.7.0": initrdImage})
	c := memoCase{files: [][]byte{file}, policy: func(p *policy.Policy) { p.Bundles.TrustedRoots = []string{rootPEM(k)} }}
	m := NewBundleMemo(DefaultBundleMemoEntries)
	steps := []struct {
		name string
		at   time.Time
		want Status
	}{
		{"valid: verified and kept", testNow, Passed},
		{"valid: from the memo", testNow.Add(23 * time.Hour), Passed},
		{"last second of validity", k.Root.NotAfter, Passed},
		{"a second after expiry", k.Root.NotAfter.Add(time.Second), Failed},
		{"a year after expiry", testNow.AddDate(1, 0, 0), Failed},
		{"clock set back before validity", k.Root.NotBefore.Add(-time.Second), Failed},
		{"clock back inside validity", testNow, Passed},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			c.now = s.at
			want := f.appraise(t, c, nil)
			got := f.appraise(t, c, m)
			if got.Status != s.want {
				t.Errorf("with a warm memo at %s: %s, want %s; failures %+v", s.at, got.Status, s.want, got.Failures())
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("verdict differs from no memo (-without +with):\n%s", diff)
			}
		})
	}
	if m.entries.Len() != 1 {
		t.Errorf("memo holds %d entries, want the one file", m.entries.Len())
	}
}

// TestBundleMemoRootsChange: a remembered file is not trusted under other
// roots, and is trusted again under the first ones.
func TestBundleMemoRootsChange(t *testing.T) {
	f := newMemoFixture(t)
	vendor := vendorKeys(t, "Example OS Vendor")
	other := vendorKeys(t, "Nobody We Know")
	file := signBundle(t, vendor, "initrd", bundle.Certified, map[string][]byte{"initrd.img-6.7.0": initrdImage})
	m := NewBundleMemo(DefaultBundleMemoEntries)
	for _, s := range []struct {
		name  string
		roots []string
		want  Status
	}{
		{"vendor trusted", []string{rootPEM(vendor)}, Passed},
		{"another vendor trusted instead", []string{rootPEM(other)}, Failed},
		{"no vendor trusted", nil, Failed},
		{"both trusted", []string{rootPEM(other), rootPEM(vendor)}, Passed},
		{"vendor trusted again", []string{rootPEM(vendor)}, Passed},
	} {
		t.Run(s.name, func(t *testing.T) {
			c := memoCase{files: [][]byte{file}, policy: func(p *policy.Policy) { p.Bundles.TrustedRoots = s.roots }}
			want := f.appraise(t, c, nil)
			got := f.appraise(t, c, m)
			if got.Status != s.want {
				t.Errorf("%s, want %s; failures %+v", got.Status, s.want, got.Failures())
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("verdict differs from no memo (-without +with):\n%s", diff)
			}
		})
	}
}

// TestBundleMemoHitsAndBound checks that a warm memo hands back the
// descriptor it kept rather than parsing again, and that it never holds more
// than its bound.
func TestBundleMemoHitsAndBound(t *testing.T) {
	vendor := vendorKeys(t, "Example OS Vendor")
	rootCerts := []*x509.Certificate{vendor.Root}
	m := NewBundleMemo(3)
	var files [][]byte
	for i := range 7 {
		files = append(files, signBundle(t, vendor, fmt.Sprintf("b%d", i), bundle.Certified, map[string][]byte{"p.v00": {byte(i)}}))
	}
	first := m.open(files[:1], rootCerts, testNow)
	again := m.open(files[:1], rootCerts, testNow)
	if first[0].desc == nil || again[0].desc != first[0].desc {
		t.Errorf("second open parsed again: descriptors %p and %p, want the kept one", first[0].desc, again[0].desc)
	}
	for i, f := range files {
		got := m.open([][]byte{f}, rootCerts, testNow)
		if got[0].parseErr != nil || got[0].sigErr != nil || got[0].desc.Name != fmt.Sprintf("b%d", i) {
			t.Fatalf("open(b%d) = %+v", i, got[0])
		}
		if n := memoLen(m); n > 3 || n != m.entries.Len() {
			t.Errorf("after %d files: %d entries (count %d), bound 3", i+1, n, m.entries.Len())
		}
	}
}

// TestBundleMemoConcurrent appraises with one small shared memo from many
// goroutines, so lookups, inserts and clears race; run with -race. Every
// verdict must be the one without a memo.
func TestBundleMemoConcurrent(t *testing.T) {
	f := newMemoFixture(t)
	cases := bundleMemoCases(t)
	want := make([]*Verdict, len(cases))
	for i, c := range cases {
		want[i] = f.appraise(t, c, nil)
	}
	m := NewBundleMemo(2)
	var wg sync.WaitGroup
	for g := range 6 {
		wg.Go(func() {
			for r := range 3 {
				for i := range cases {
					j := (i + g + r) % len(cases)
					if diff := cmp.Diff(want[j], f.appraise(t, cases[j], m)); diff != "" {
						t.Errorf("%s: verdict differs from no memo (-without +with):\n%s", cases[j].name, diff)
						return
					}
				}
			}
		})
	}
	wg.Wait()
	if n := memoLen(m); n > 2 {
		t.Errorf("memo holds %d entries, bound 2", n)
	}
}

func memoLen(m *BundleMemo) int { return m.entries.Len() }

// BenchmarkAppraiseBundles appraises a host with three signed bundles
// without a memo and with a warm one, as the verifier does. Two bundles
// carry payloads the boot did not load, so the verdict is Failed; the
// bundle work is the same as for a pass.
func BenchmarkAppraiseBundles(b *testing.B) {
	h := boot(b, testBanks, standardBoot(b, sb))
	vendor := vendorKeys(b, "Example OS Vendor")
	p := goldenPolicy(b).Clone()
	p.Bundles.TrustedRoots = []string{rootPEM(vendor)}
	ev := h.evidence(nil)
	ev.Bundles = [][]byte{
		signBundle(b, vendor, "initrd", bundle.Certified, map[string][]byte{"initrd.img-6.7.0": initrdImage}),
		signBundle(b, vendor, "tools", bundle.Certified, map[string][]byte{"tools.v00": []byte("tools")}),
		signBundle(b, vendor, "driver", bundle.Certified, map[string][]byte{"driver.v00": []byte("driver")}),
	}
	for _, bm := range []struct {
		name string
		memo *BundleMemo
	}{{"no memo", nil}, {"warm memo", NewBundleMemo(DefaultBundleMemoEntries)}} {
		b.Run(bm.name, func(b *testing.B) {
			in := Input{Evidence: ev, AKPublic: h.akPublic(akECC), Nonce: testNonce, Policy: p, Now: testNow, BundleMemo: bm.memo}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Appraise(in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

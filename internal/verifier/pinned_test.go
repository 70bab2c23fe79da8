package verifier_test

import (
	"context"
	"strings"
	"testing"

	"github.com/bootproof/bootproof/internal/emuhost"
	"github.com/bootproof/bootproof/internal/loadgen"
	"github.com/bootproof/bootproof/internal/policy"
	"github.com/bootproof/bootproof/internal/store"
	"github.com/bootproof/bootproof/internal/verifier"
	"github.com/bootproof/bootproof/internal/wire"
)

// perHostFleet is a bench fleet of n hosts whose group pins the kernel per
// host, with the emulated images by profile.
func perHostFleet(t *testing.T, n int) (*benchFleet, map[emuhost.Profile]*loadgen.Image) {
	t.Helper()
	f := newBenchFleet(t, n)
	p, err := f.v.Policy(context.Background(), "lab")
	if err != nil {
		t.Fatal(err)
	}
	p = p.Clone()
	p.PerHost = []string{policy.ClassKernel}
	if err := f.v.PutPolicy(context.Background(), "test", "lab", p); err != nil {
		t.Fatal(err)
	}
	ims, err := loadgen.BootImages([]emuhost.Profile{emuhost.Good, emuhost.OldKernel, emuhost.SecureBootOff})
	if err != nil {
		t.Fatal(err)
	}
	return f, ims
}

// boot attests bh with image im (mangle, if set, changes the evidence).
func (f *benchFleet) boot(t *testing.T, bh *benchHost, im *loadgen.Image, mangle func(*wire.Evidence)) wire.EvidenceResult {
	t.Helper()
	bh.im = im
	h, ev := f.freshEvidence(t, bh)
	if mangle != nil {
		mangle(ev)
	}
	res, err := f.v.Submit(context.Background(), h, ev)
	if err != nil {
		t.Fatalf("Submit(%s): %v", h.Name, err)
	}
	return res
}

func pinsOf(t *testing.T, f *benchFleet, host string) []store.HostPin {
	t.Helper()
	pins, err := f.v.Store().HostPins(context.Background(), host)
	if err != nil {
		t.Fatal(err)
	}
	return pins
}

// TestPinOnFirstPassedBoot: a host's first Passed boot pins its kernel; a
// later boot of another (genuinely signed) kernel fails reference.kernel
// saying it changed since the pin; a Failed first boot pins nothing; an
// operator's accept re-pins from the latest evidence and the host passes.
func TestPinOnFirstPassedBoot(t *testing.T) {
	ctx := context.Background()
	f, ims := perHostFleet(t, 2)
	good, other := f.hosts[0], f.hosts[1]

	if res := f.boot(t, other, ims[emuhost.SecureBootOff], nil); res.Status != store.StatusFailed {
		t.Fatalf("Secure Boot off: %s", res.Status)
	}
	if pins := pinsOf(t, f, other.rec.Name); len(pins) != 0 {
		t.Fatalf("a Failed boot pinned %+v", pins)
	}
	if res := f.boot(t, good, ims[emuhost.Good], nil); res.Status != store.StatusPassed {
		t.Fatalf("first boot: %s (%s)", res.Status, res.Reason)
	}
	first := pinsOf(t, f, good.rec.Name)
	if len(first) != 1 || first[0].Class != policy.ClassKernel || first[0].AcceptedBy != "" || len(first[0].Digests) == 0 {
		t.Fatalf("pins after the first Passed boot: %+v, want the kernel pinned by the verifier", first)
	}
	res := f.boot(t, good, ims[emuhost.OldKernel], nil)
	if res.Status != store.StatusFailed || !strings.HasPrefix(res.Reason, "The kernel changed since ") || !strings.HasSuffix(res.Reason, "(pinned on this host).") {
		t.Fatalf("another kernel: %s %q; want Failed, the kernel changed since the pin", res.Status, res.Reason)
	}
	if again := pinsOf(t, f, good.rec.Name); again[0].Digests[0] != first[0].Digests[0] {
		t.Fatal("a Failed boot moved the pin")
	}
	pins, err := f.v.AcceptPins(ctx, "operator", policy.ClassKernel, []string{good.rec.Name})
	if err != nil {
		t.Fatalf("AcceptPins: %v", err)
	}
	if len(pins) != 1 || pins[0].AcceptedBy != "operator" || pins[0].Digests[0] == first[0].Digests[0] {
		t.Fatalf("accepted pins %+v, want the other kernel accepted by the operator", pins)
	}
	if res := f.boot(t, good, ims[emuhost.OldKernel], nil); res.Status != store.StatusPassed {
		t.Fatalf("after accept: %s (%s)", res.Status, res.Reason)
	}
	if res := f.boot(t, good, ims[emuhost.Good], nil); res.Status != store.StatusFailed {
		t.Fatalf("the first kernel after accept: %s, want Failed", res.Status)
	}
}

// TestAcceptPinsRefused: accept refuses, writing nothing for any host
// named, a host whose latest evidence is not authentic, a class the group
// does not pin per host, a host that does not exist and a bad class.
func TestAcceptPinsRefused(t *testing.T) {
	ctx := context.Background()
	f, ims := perHostFleet(t, 2)
	good, forged := f.hosts[0], f.hosts[1]
	f.boot(t, good, ims[emuhost.Good], nil)
	f.boot(t, forged, ims[emuhost.Good], nil)
	res := f.boot(t, forged, ims[emuhost.OldKernel], func(ev *wire.Evidence) {
		pcr0 := append([]byte(nil), ev.Quotes[0].PCRs["sha256"][0]...)
		pcr0[0] ^= 1 // not the value the TPM quoted
		ev.Quotes[0].PCRs["sha256"][0] = pcr0
	})
	if res.Status != store.StatusFailed {
		t.Fatalf("altered PCR value: %s", res.Status)
	}
	before := pinsOf(t, f, good.rec.Name)
	tests := []struct {
		name, class string
		hosts       []string
		code        string
	}{
		{"evidence not authentic", policy.ClassKernel, []string{good.rec.Name, forged.rec.Name}, "pin.unverified"},
		{"class not per host", policy.ClassInitrd, []string{good.rec.Name}, "pin.not_per_host"},
		{"no such host", policy.ClassKernel, []string{good.rec.Name, "nobody"}, "host.not_found"},
		{"not a class", "initramfs", []string{good.rec.Name}, "pin.class"},
		{"no host", policy.ClassKernel, nil, "pin.no_hosts"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := f.v.AcceptPins(ctx, "operator", tt.class, tt.hosts)
			if e, ok := verifier.AsError(err); !ok || e.Code != tt.code {
				t.Fatalf("AcceptPins: %v, want %s", err, tt.code)
			}
			if after := pinsOf(t, f, good.rec.Name); after[0].Since != before[0].Since || after[0].AcceptedBy != "" {
				t.Fatalf("a refused accept changed %s's pin: %+v", good.rec.Name, after)
			}
		})
	}
}

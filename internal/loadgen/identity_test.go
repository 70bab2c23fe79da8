package loadgen

import (
	"bytes"
	"crypto/rand"
	"testing"
	"time"

	"github.com/bootproof/bootproof/internal/appraisal"
	"github.com/bootproof/bootproof/internal/emuhost"
	"github.com/bootproof/bootproof/internal/enroll"
	"github.com/bootproof/bootproof/internal/makerca"
)

func testMaker(t testing.TB) *makerca.CA {
	t.Helper()
	ca, err := makerca.LoadOrCreate(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return ca
}

// TestActivateCredential answers the verifier's own challenge code
// (enroll.MakeChallenge) for each EK kind, and refuses a challenge made for
// another AK, as a TPM does.
func TestActivateCredential(t *testing.T) {
	maker := testMaker(t)
	trust := enroll.NewTrustStore()
	if err := trust.AddAnchor(maker.Certificate(), "loadgen test"); err != nil {
		t.Fatal(err)
	}
	for _, kind := range []struct {
		ek EKKind
		ak AKKind
	}{{EKECC, AKECC}, {EKRSA, AKRSA}, {EKECC, AKRSA}} {
		t.Run(string(kind.ek)+"-ek-"+string(kind.ak)+"-ak", func(t *testing.T) {
			s, err := NewSimulatedTPM(kind.ek, kind.ak, maker, "host-1")
			if err != nil {
				t.Fatal(err)
			}
			if err := enroll.VerifyEKCert(s.EKCert, s.EKPublic, trust, time.Now()); err != nil {
				t.Fatalf("the verifier does not accept the EK certificate: %v", err)
			}
			secret, blob, seed, err := enroll.MakeChallenge(s.EKPublic, s.AKPublic, rand.Reader)
			if err != nil {
				t.Fatalf("the verifier refuses to challenge the AK: %v", err)
			}
			got, err := s.ActivateCredential(blob, seed)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, secret) {
				t.Fatalf("recovered %x, want %x", got, secret)
			}
			other, err := NewSimulatedTPM(EKECC, AKECC, maker, "host-2")
			if err != nil {
				t.Fatal(err)
			}
			_, blob, seed, err = enroll.MakeChallenge(s.EKPublic, other.AKPublic, rand.Reader)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.ActivateCredential(blob, seed); err == nil {
				t.Fatal("activated a challenge made for another AK")
			}
		})
	}
}

// TestEvidenceAppraises checks that the verifier's appraisal judges the
// generated evidence as it judges an emulated host of the same profile.
func TestEvidenceAppraises(t *testing.T) {
	if testing.Short() {
		t.Skip("boots the emulated chain on the reference TPM")
	}
	profiles := []emuhost.Profile{emuhost.Good, emuhost.SecureBootOff, emuhost.TamperedKernel, emuhost.UnsignedBundle}
	ims, err := BootImages(profiles)
	if err != nil {
		t.Fatal(err)
	}
	maker := testMaker(t)
	for _, ak := range []AKKind{AKECC, AKRSA} {
		s, err := NewSimulatedTPM(EKECC, ak, maker, "host-"+string(ak))
		if err != nil {
			t.Fatal(err)
		}
		appraiseProfiles(t, s, ims, profiles)
	}
}

func appraiseProfiles(t *testing.T, s *SimulatedTPM, ims map[emuhost.Profile]*Image, profiles []emuhost.Profile) {
	t.Helper()
	p, err := LoadPolicy(time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	for i, prof := range profiles {
		im := ims[prof]
		nonce := bytes.Repeat([]byte{byte(i + 1)}, 32)
		ev, err := s.Evidence(im, nonce, uint64(1000*(i+1)))
		if err != nil {
			t.Fatal(err)
		}
		v, err := appraisal.Appraise(appraisal.Input{Evidence: ev, AKPublic: s.AKPublic, Nonce: nonce, Policy: p, Now: time.Now()})
		if err != nil {
			t.Fatalf("%s: %v", prof, err)
		}
		if string(v.Status) != im.Expect {
			t.Errorf("%s: verdict %s, want %s (%+v)", prof, v.Status, im.Expect, v.Failures())
		}
	}
}

package loadgen

import (
	"crypto/rand"
	"testing"

	"github.com/bootproof/bootproof/internal/enroll"
)

// FuzzActivateCredential feeds the software TPM challenges it did not
// expect: it must refuse them with an error, never panic, and never
// "recover" a secret from a blob whose integrity check fails.
func FuzzActivateCredential(f *testing.F) {
	maker := testMaker(f)
	s, err := NewSimulatedTPM(EKECC, AKECC, maker, "fuzz")
	if err != nil {
		f.Fatal(err)
	}
	_, blob, seed, err := enroll.MakeChallenge(s.EKPublic, s.AKPublic, rand.Reader)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(blob, seed)
	f.Add([]byte{}, []byte{})
	f.Add([]byte{0xff, 0xff}, seed)
	f.Add(blob[:3], seed[:5])
	f.Fuzz(func(t *testing.T, blob, seed []byte) {
		_, _ = s.ActivateCredential(blob, seed)
	})
}

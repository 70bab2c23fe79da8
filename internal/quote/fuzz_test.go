package quote

import (
	"math/rand/v2"
	"os"
	"testing"

	"github.com/google/go-tpm/tpm2"
)

// The fuzz targets run the differential check of differential_test.go on
// whatever the fuzzer makes: neither decoder may panic ours, and they must
// agree as described there.

func FuzzParseAttest(f *testing.F) {
	for _, q := range readSimQuotes(f) {
		f.Add(q.attest)
	}
	f.Add(marshal(goAttest()))
	f.Add(marshal(goAttestWith(tpm2.TPMLPCRSelection{})))
	rng := rand.New(rand.NewPCG(3, 4))
	for range 8 {
		f.Add(randomAttest(rng))
	}
	f.Fuzz(func(t *testing.T, b []byte) { checkAttest(t, b) })
}

func FuzzParseSignature(f *testing.F) {
	for _, q := range readSimQuotes(f) {
		f.Add(q.sig)
	}
	f.Add(marshal(goRSASig(tpm2.TPMAlgRSASSA, tpm2.TPMAlgSHA256, seq(256, 1))))
	f.Add(marshal(goRSASig(tpm2.TPMAlgRSAPSS, tpm2.TPMAlgSHA384, seq(8, 1))))
	f.Add(marshal(goECDSASig(tpm2.TPMAlgSHA256, seq(32, 3), seq(32, 4))))
	rng := rand.New(rand.NewPCG(5, 6))
	for range 8 {
		f.Add(randomSignature(rng))
	}
	f.Fuzz(func(t *testing.T, b []byte) { checkSignature(t, b) })
}

func FuzzParsePublic(f *testing.F) {
	for _, file := range []string{"testdata/sim-seed7-ak.tpmt_public", "testdata/sim-seed7-ek.tpmt_public"} {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, q := range readSimQuotes(f) {
		f.Add(q.public)
	}
	f.Add(marshal(goRSAPublic(&rsa1024().PublicKey, rsassa(tpm2.TPMAlgSHA256))))
	f.Add(marshal(goECCPublic(&ecP256().PublicKey, ecdsaScheme(tpm2.TPMAlgSHA256))))
	rng := rand.New(rand.NewPCG(7, 8))
	for range 8 {
		f.Add(randomPublic(rng))
	}
	f.Fuzz(func(t *testing.T, b []byte) { checkPublic(t, b) })
}

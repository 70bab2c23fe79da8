package quote

import (
	"testing"

	"github.com/google/go-tpm/tpm2"
)

// The benchmarks set this package's decoders beside go-tpm's reflective
// tpm2.Unmarshal on what the verifier decodes per quote: a one-bank
// TPMS_ATTEST, its signature and the AK (go-tpm's side includes tpm2.Pub,
// as the verifier needs the Go key).

func benchParse[T any](b *testing.B, in []byte, parse func([]byte) (T, error)) {
	b.ReportAllocs()
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		if _, err := parse(in); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseAttest(b *testing.B) {
	benchParse(b, marshal(goAttest()), ParseAttest)
}

func BenchmarkGoTPMUnmarshalAttest(b *testing.B) {
	benchParse(b, marshal(goAttest()), func(in []byte) (*tpm2.TPMSQuoteInfo, error) {
		a, err := tpm2.Unmarshal[tpm2.TPMSAttest](in)
		if err != nil {
			return nil, err
		}
		return a.Attested.Quote()
	})
}

func rsaSigBytes() []byte {
	return marshal(goRSASig(tpm2.TPMAlgRSASSA, tpm2.TPMAlgSHA256, seq(256, 1)))
}

func ecSigBytes() []byte {
	return marshal(goECDSASig(tpm2.TPMAlgSHA256, seq(32, 3), seq(32, 4)))
}

func BenchmarkParseSignatureRSA(b *testing.B) { benchParse(b, rsaSigBytes(), ParseSignature) }

func BenchmarkGoTPMUnmarshalSignatureRSA(b *testing.B) {
	benchParse(b, rsaSigBytes(), tpm2.Unmarshal[tpm2.TPMTSignature])
}

func BenchmarkParseSignatureECDSA(b *testing.B) { benchParse(b, ecSigBytes(), ParseSignature) }

func BenchmarkGoTPMUnmarshalSignatureECDSA(b *testing.B) {
	benchParse(b, ecSigBytes(), tpm2.Unmarshal[tpm2.TPMTSignature])
}

func goTPMPublic(in []byte) (any, error) {
	p, err := tpm2.Unmarshal[tpm2.TPMTPublic](in)
	if err != nil {
		return nil, err
	}
	return tpm2.Pub(*p)
}

func BenchmarkParsePublicRSA(b *testing.B) {
	benchParse(b, marshal(goRSAPublic(&rsa2048().PublicKey, rsassa(tpm2.TPMAlgSHA256))), ParsePublic)
}

func BenchmarkGoTPMUnmarshalPublicRSA(b *testing.B) {
	benchParse(b, marshal(goRSAPublic(&rsa2048().PublicKey, rsassa(tpm2.TPMAlgSHA256))), goTPMPublic)
}

// ParsePublic checks the point is on the curve; go-tpm's Pub does not.
func BenchmarkParsePublicECC(b *testing.B) {
	benchParse(b, marshal(goECCPublic(&ecP256().PublicKey, ecdsaScheme(tpm2.TPMAlgSHA256))), ParsePublic)
}

func BenchmarkGoTPMUnmarshalPublicECC(b *testing.B) {
	benchParse(b, marshal(goECCPublic(&ecP256().PublicKey, ecdsaScheme(tpm2.TPMAlgSHA256))), goTPMPublic)
}

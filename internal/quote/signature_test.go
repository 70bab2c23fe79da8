package quote

import (
	"bytes"
	"encoding/binary"
	"strings"
	"testing"

	"github.com/google/go-tpm/tpm2"
)

func TestParseSignatureGood(t *testing.T) {
	tests := []struct {
		name string
		sig  tpm2.TPMTSignature
		want Signature
	}{
		{"RSASSA", goRSASig(tpm2.TPMAlgRSASSA, tpm2.TPMAlgSHA256, seq(256, 1)),
			Signature{Alg: AlgRSASSA, Hash: AlgSHA256, RSA: seq(256, 1)}},
		{"RSAPSS", goRSASig(tpm2.TPMAlgRSAPSS, tpm2.TPMAlgSHA384, seq(384, 2)),
			Signature{Alg: AlgRSAPSS, Hash: AlgSHA384, RSA: seq(384, 2)}},
		{"ECDSA", goECDSASig(tpm2.TPMAlgSHA256, seq(32, 3), seq(32, 4)),
			Signature{Alg: AlgECDSA, Hash: AlgSHA256, R: seq(32, 3), S: seq(32, 4)}},
		{"ECDSA, short R and empty S", goECDSASig(tpm2.TPMAlgSHA512, seq(31, 3), nil),
			Signature{Alg: AlgECDSA, Hash: AlgSHA512, R: seq(31, 3)}},
		// The hash is the verifier's to judge, not the decoder's.
		{"RSASSA over SHA-1", goRSASig(tpm2.TPMAlgRSASSA, tpm2.TPMAlgSHA1, seq(8, 1)),
			Signature{Alg: AlgRSASSA, Hash: AlgSHA1, RSA: seq(8, 1)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseSignature(marshal(tc.sig))
			if err != nil {
				t.Fatalf("ParseSignature: %v", err)
			}
			if got.Alg != tc.want.Alg || got.Hash != tc.want.Hash || !bytes.Equal(got.RSA, tc.want.RSA) ||
				!bytes.Equal(got.R, tc.want.R) || !bytes.Equal(got.S, tc.want.S) {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestParseSignatureTruncated(t *testing.T) {
	tests := []struct {
		name string
		sig  tpm2.TPMTSignature
		l    []placed
	}{
		{"RSASSA", goRSASig(tpm2.TPMAlgRSASSA, tpm2.TPMAlgSHA256, seq(256, 1)),
			layout(span{"sigAlg", 2}, span{"hash", 2}, span{"sig", 2 + 256})},
		{"ECDSA", goECDSASig(tpm2.TPMAlgSHA256, seq(32, 3), seq(32, 4)),
			layout(span{"sigAlg", 2}, span{"hash", 2}, span{"signatureR", 2 + 32}, span{"signatureS", 2 + 32})},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := marshal(tc.sig)
			if end := tc.l[len(tc.l)-1].end; end != len(b) {
				t.Fatalf("layout covers %d bytes, the signature has %d", end, len(b))
			}
			for n := range len(b) {
				_, err := ParseSignature(b[:n])
				p := fieldAt(tc.l, n)
				wantParseError(t, err, p.field, p.start)
			}
		})
	}
}

func TestParseSignatureBad(t *testing.T) {
	rsaSig := func() []byte { return marshal(goRSASig(tpm2.TPMAlgRSASSA, tpm2.TPMAlgSHA256, seq(256, 1))) }
	ecSig := func() []byte { return marshal(goECDSASig(tpm2.TPMAlgSHA256, seq(32, 3), seq(32, 4))) }
	withAlg := func(alg uint16) []byte {
		b := rsaSig()
		binary.BigEndian.PutUint16(b, alg)
		return b
	}
	tests := []struct {
		name   string
		in     []byte
		field  string
		offset int
		says   string
	}{
		{"HMAC", marshal(tpm2.TPMTSignature{SigAlg: tpm2.TPMAlgHMAC, Signature: tpm2.NewTPMUSignature(tpm2.TPMAlgHMAC,
			&tpm2.TPMTHA{HashAlg: tpm2.TPMAlgSHA256, Digest: seq(32, 1)})}), "sigAlg", 0, "0x0005"},
		{"NULL", marshal(tpm2.TPMTSignature{SigAlg: tpm2.TPMAlgNull}), "sigAlg", 0, "0x0010"},
		{"ECDAA", withAlg(uint16(tpm2.TPMAlgECDAA)), "sigAlg", 0, "0x001a"},
		{"SM2", withAlg(0x001b), "sigAlg", 0, "0x001b"},
		{"RSA sig longer than the rest", func() []byte { b := rsaSig(); b[4] = 0x02; b[5] = 0x01; return b }(),
			"sig", 4, "size 513 exceeds the 256 bytes left"},
		{"S longer than the rest", func() []byte { b := ecSig(); b[39] = 33; return b }(),
			"signatureS", 38, "size 33 exceeds the 32 bytes left"},
		{"S shorter, leaving a byte", func() []byte { b := ecSig(); b[39] = 31; return b }(),
			"end", 71, "trailing bytes after the structure: 1"},
		{"a byte after the signature", append(ecSig(), 9), "end", 72, "trailing"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := ParseSignature(tc.in)
			if s != nil {
				t.Errorf("ParseSignature returned %+v with the error", s)
			}
			wantParseError(t, err, tc.field, tc.offset)
			if err != nil && !strings.Contains(err.Error(), tc.says) {
				t.Errorf("error %q does not say %q", err, tc.says)
			}
		})
	}
}

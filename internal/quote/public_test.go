package quote

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/binary"
	"math/big"
	"strings"
	"testing"

	"github.com/google/go-tpm/tpm2"
)

// rsaAKLayout is the wire layout of an RSASSA 2048-bit AK.
func rsaAKLayout() []placed {
	return layout(span{"type", 2}, span{"nameAlg", 2}, span{"objectAttributes", 4}, span{"authPolicy", 2},
		span{"parameters.symmetric.algorithm", 2}, span{"parameters.scheme.scheme", 2}, span{"parameters.scheme.hashAlg", 2},
		span{"parameters.keyBits", 2}, span{"parameters.exponent", 4}, span{"unique.rsa", 2 + 256})
}

// eccAKLayout is the wire layout of an ECDSA P-256 AK.
func eccAKLayout() []placed {
	return layout(span{"type", 2}, span{"nameAlg", 2}, span{"objectAttributes", 4}, span{"authPolicy", 2},
		span{"parameters.symmetric.algorithm", 2}, span{"parameters.scheme.scheme", 2}, span{"parameters.scheme.hashAlg", 2},
		span{"parameters.curveID", 2}, span{"parameters.kdf.scheme", 2}, span{"unique.ecc.x", 2 + 32}, span{"unique.ecc.y", 2 + 32})
}

// ekLayout is the wire layout of goEK: AES-128-CFB, a policy, no scheme.
func ekLayout() []placed {
	return layout(span{"type", 2}, span{"nameAlg", 2}, span{"objectAttributes", 4}, span{"authPolicy", 2 + 32},
		span{"parameters.symmetric.algorithm", 2}, span{"parameters.symmetric.keyBits", 2}, span{"parameters.symmetric.mode", 2},
		span{"parameters.scheme.scheme", 2}, span{"parameters.keyBits", 2}, span{"parameters.exponent", 4}, span{"unique.rsa", 2 + 256})
}

// ecKeyWithShortX is a P-256 key whose X has a leading zero byte, which a
// TPM2B_ECC_PARAMETER may leave out.
func ecKeyWithShortX(t *testing.T) *ecdsa.PublicKey {
	for range 10000 {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		if x, _ := coordinates(&k.PublicKey); x[0] == 0 {
			return &k.PublicKey
		}
	}
	t.Fatal("no P-256 key with a short X in 10000 tries")
	return nil
}

func TestParsePublicGood(t *testing.T) {
	withExponent := func(e uint32) func() tpm2.TPMTPublic {
		return func() tpm2.TPMTPublic {
			g := goRSAPublic(&rsa2048().PublicKey, rsassa(tpm2.TPMAlgSHA256))
			p, _ := g.Parameters.RSADetail()
			p.Exponent = e
			return g
		}
	}
	shortX := ecKeyWithShortX(t)
	tests := []struct {
		name             string
		pub              func() tpm2.TPMTPublic
		scheme, hash     uint16
		restricted, sign bool
	}{
		{"RSA AK, RSASSA", func() tpm2.TPMTPublic { return goRSAPublic(&rsa2048().PublicKey, rsassa(tpm2.TPMAlgSHA256)) },
			AlgRSASSA, AlgSHA256, true, true},
		{"RSA AK, RSAPSS", func() tpm2.TPMTPublic { return goRSAPublic(&rsa2048().PublicKey, rsapss(tpm2.TPMAlgSHA384)) },
			AlgRSAPSS, AlgSHA384, true, true},
		{"RSA 1024, the least", func() tpm2.TPMTPublic { return goRSAPublic(&rsa1024().PublicKey, rsassa(tpm2.TPMAlgSHA256)) },
			AlgRSASSA, AlgSHA256, true, true},
		{"exponent 0 is 65537", withExponent(0), AlgRSASSA, AlgSHA256, true, true},
		{"exponent 3", withExponent(3), AlgRSASSA, AlgSHA256, true, true},
		{"exponent 2^31-1", withExponent(1<<31 - 1), AlgRSASSA, AlgSHA256, true, true},
		{"RSA EK, AES-128-CFB, no scheme", func() tpm2.TPMTPublic { return goEK(&rsa2048().PublicKey) },
			AlgNull, AlgNull, true, false},
		{"RSAES, no hash", func() tpm2.TPMTPublic {
			return goRSAPublic(&rsa2048().PublicKey, tpm2.TPMTRSAScheme{Scheme: tpm2.TPMAlgRSAES,
				Details: tpm2.NewTPMUAsymScheme(tpm2.TPMAlgRSAES, &tpm2.TPMSEncSchemeRSAES{})})
		}, AlgRSAES, AlgNull, true, true},
		{"ECC P-256 AK", func() tpm2.TPMTPublic { return goECCPublic(&ecP256().PublicKey, ecdsaScheme(tpm2.TPMAlgSHA256)) },
			AlgECDSA, AlgSHA256, true, true},
		{"ECC P-384 AK", func() tpm2.TPMTPublic { return goECCPublic(&ecP384().PublicKey, ecdsaScheme(tpm2.TPMAlgSHA384)) },
			AlgECDSA, AlgSHA384, true, true},
		{"ECC P-521, ECDAA, KDF2", func() tpm2.TPMTPublic {
			g := goECCPublic(&ecP521().PublicKey, tpm2.TPMTECCScheme{Scheme: tpm2.TPMAlgECDAA,
				Details: tpm2.NewTPMUAsymScheme(tpm2.TPMAlgECDAA, &tpm2.TPMSSchemeECDAA{HashAlg: tpm2.TPMAlgSHA512, Count: 9})})
			p, _ := g.Parameters.ECCDetail()
			p.KDF = tpm2.TPMTKDFScheme{Scheme: tpm2.TPMAlgKDF2, Details: tpm2.NewTPMUKDFScheme(tpm2.TPMAlgKDF2, &tpm2.TPMSKDFSchemeKDF2{HashAlg: tpm2.TPMAlgSHA256})}
			return g
		}, AlgECDAA, AlgSHA512, true, true},
		{"ECC X without its leading zero", func() tpm2.TPMTPublic {
			g := goECCPublic(shortX, ecdsaScheme(tpm2.TPMAlgSHA256))
			pt, _ := g.Unique.ECC()
			pt.X.Buffer = pt.X.Buffer[1:]
			return g
		}, AlgECDSA, AlgSHA256, true, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := tc.pub()
			got, err := ParsePublic(marshal(g))
			if err != nil {
				t.Fatalf("ParsePublic: %v", err)
			}
			if d := publicDiff(got, &g); d != "" {
				t.Error(d)
			}
			if got.Scheme != tc.scheme || got.SchemeHash != tc.hash {
				t.Errorf("scheme 0x%04x/0x%04x, want 0x%04x/0x%04x", got.Scheme, got.SchemeHash, tc.scheme, tc.hash)
			}
			if got.Restricted() != tc.restricted || got.SignEncrypt() != tc.sign || got.Decrypt() == tc.sign || !got.FixedTPM() {
				t.Errorf("restricted %v sign %v decrypt %v fixedTPM %v", got.Restricted(), got.SignEncrypt(), got.Decrypt(), got.FixedTPM())
			}
		})
	}
}

func TestParsePublicTruncated(t *testing.T) {
	tests := []struct {
		name string
		pub  tpm2.TPMTPublic
		l    []placed
	}{
		{"RSA AK", goRSAPublic(&rsa2048().PublicKey, rsassa(tpm2.TPMAlgSHA256)), rsaAKLayout()},
		{"ECC AK", goECCPublic(&ecP256().PublicKey, ecdsaScheme(tpm2.TPMAlgSHA256)), eccAKLayout()},
		{"RSA EK", goEK(&rsa2048().PublicKey), ekLayout()},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := marshal(tc.pub)
			if end := tc.l[len(tc.l)-1].end; end != len(b) {
				t.Fatalf("layout covers %d bytes, the key has %d", end, len(b))
			}
			for n := range len(b) {
				_, err := ParsePublic(b[:n])
				p := fieldAt(tc.l, n)
				wantParseError(t, err, p.field, p.start)
			}
		})
	}
}

func TestParsePublicBad(t *testing.T) {
	rsaL, eccL := rsaAKLayout(), eccAKLayout()
	rsaAK := func() []byte { return marshal(goRSAPublic(&rsa2048().PublicKey, rsassa(tpm2.TPMAlgSHA256))) }
	eccAK := func() []byte { return marshal(goECCPublic(&ecP256().PublicKey, ecdsaScheme(tpm2.TPMAlgSHA256))) }
	put16 := func(b []byte, l []placed, f string, v uint16) []byte {
		binary.BigEndian.PutUint16(b[offsetOf(l, f):], v)
		return b
	}
	put32 := func(b []byte, l []placed, f string, v uint32) []byte {
		binary.BigEndian.PutUint32(b[offsetOf(l, f):], v)
		return b
	}
	// withBits is a key whose keyBits and modulus agree, for range checks.
	withBits := func(bits int) []byte {
		g := goRSAPublic(&rsa2048().PublicKey, rsassa(tpm2.TPMAlgSHA256))
		p, _ := g.Parameters.RSADetail()
		p.KeyBits = tpm2.TPMKeyBits(bits)
		n, _ := g.Unique.RSA()
		n.Buffer = seq(bits/8, 0x80)
		return marshal(g)
	}
	offCurve := func() []byte {
		b := eccAK()
		b[len(b)-1] ^= 1 // the last byte of Y
		return b
	}
	tooLongX := func() []byte {
		g := goECCPublic(&ecP256().PublicKey, ecdsaScheme(tpm2.TPMAlgSHA256))
		pt, _ := g.Unique.ECC()
		pt.X.Buffer = append([]byte{0}, pt.X.Buffer...)
		return marshal(g)
	}
	xor := func() []byte {
		g := goRSAPublic(&rsa2048().PublicKey, rsassa(tpm2.TPMAlgSHA256))
		p, _ := g.Parameters.RSADetail()
		p.Symmetric = tpm2.TPMTSymDefObject{Algorithm: tpm2.TPMAlgXOR, KeyBits: tpm2.NewTPMUSymKeyBits(tpm2.TPMAlgXOR, tpm2.TPMAlgSHA256)}
		return marshal(g)
	}
	rsaWithECDSA := func() []byte {
		g := goRSAPublic(&rsa2048().PublicKey, tpm2.TPMTRSAScheme{Scheme: tpm2.TPMAlgECDSA,
			Details: tpm2.NewTPMUAsymScheme(tpm2.TPMAlgECDSA, &tpm2.TPMSSigSchemeECDSA{HashAlg: tpm2.TPMAlgSHA256})})
		return marshal(g)
	}
	eccWithRSASSA := func() []byte {
		return marshal(goECCPublic(&ecP256().PublicKey, tpm2.TPMTECCScheme{Scheme: tpm2.TPMAlgRSASSA,
			Details: tpm2.NewTPMUAsymScheme(tpm2.TPMAlgRSASSA, &tpm2.TPMSSigSchemeRSASSA{HashAlg: tpm2.TPMAlgSHA256})}))
	}
	eccKDFECDH := func() []byte {
		g := goECCPublic(&ecP256().PublicKey, ecdsaScheme(tpm2.TPMAlgSHA256))
		p, _ := g.Parameters.ECCDetail()
		p.KDF = tpm2.TPMTKDFScheme{Scheme: tpm2.TPMAlgECDH, Details: tpm2.NewTPMUKDFScheme(tpm2.TPMAlgECDH, &tpm2.TPMSKDFSchemeECDH{HashAlg: tpm2.TPMAlgSHA256})}
		return marshal(g)
	}
	keyedHash := marshal(tpm2.TPMTPublic{Type: tpm2.TPMAlgKeyedHash, NameAlg: tpm2.TPMAlgSHA256,
		Parameters: tpm2.NewTPMUPublicParms(tpm2.TPMAlgKeyedHash, &tpm2.TPMSKeyedHashParms{Scheme: tpm2.TPMTKeyedHashScheme{Scheme: tpm2.TPMAlgNull}}),
		Unique:     tpm2.NewTPMUPublicID(tpm2.TPMAlgKeyedHash, &tpm2.TPM2BDigest{Buffer: seq(32, 1)})})
	tests := []struct {
		name   string
		in     []byte
		field  string
		offset int
		says   string
	}{
		{"keyed hash", keyedHash, "type", 0, "0x0008"},
		{"XOR symmetric", xor(), "parameters.symmetric.algorithm", offsetOf(rsaL, "parameters.symmetric.algorithm"), "0x000a"},
		{"TDES symmetric", put16(rsaAK(), rsaL, "parameters.symmetric.algorithm", 0x0003), "parameters.symmetric.algorithm", -1, "0x0003"},
		{"ECDSA scheme on an RSA key", rsaWithECDSA(), "parameters.scheme.scheme", offsetOf(rsaL, "parameters.scheme.scheme"), "0x0018"},
		{"RSASSA scheme on an ECC key", eccWithRSASSA(), "parameters.scheme.scheme", offsetOf(eccL, "parameters.scheme.scheme"), "0x0014"},
		{"unknown scheme", put16(rsaAK(), rsaL, "parameters.scheme.scheme", 0x7777), "parameters.scheme.scheme", -1, "0x7777"},
		{"512-bit key", withBits(512), "parameters.keyBits", offsetOf(rsaL, "parameters.keyBits"), "512 bits"},
		{"8192-bit key", withBits(8192), "parameters.keyBits", -1, "8192 bits"},
		{"keyBits 2047", put16(rsaAK(), rsaL, "parameters.keyBits", 2047), "parameters.keyBits", -1, "multiple of 8"},
		{"keyBits 3072, 2048-bit modulus", put16(rsaAK(), rsaL, "parameters.keyBits", 3072), "unique.rsa", offsetOf(rsaL, "unique.rsa"), "needs 384"},
		{"exponent 1", put32(rsaAK(), rsaL, "parameters.exponent", 1), "parameters.exponent", offsetOf(rsaL, "parameters.exponent"), "odd"},
		{"exponent 4", put32(rsaAK(), rsaL, "parameters.exponent", 4), "parameters.exponent", -1, "4 is not"},
		{"exponent 2^31+1", put32(rsaAK(), rsaL, "parameters.exponent", 1<<31+1), "parameters.exponent", -1, "2147483649"},
		{"BN-256 curve", put16(eccAK(), eccL, "parameters.curveID", 0x0010), "parameters.curveID", offsetOf(eccL, "parameters.curveID"), "0x0010"},
		{"ECDH as KDF", eccKDFECDH(), "parameters.kdf.scheme", offsetOf(eccL, "parameters.kdf.scheme"), "0x0019"},
		{"point off the curve", offCurve(), "unique.ecc", offsetOf(eccL, "unique.ecc.x"), "not on P-256"},
		{"X of 33 bytes", tooLongX(), "unique.ecc.x", offsetOf(eccL, "unique.ecc.x"), "33 bytes"},
		{"modulus longer than the rest", put16(rsaAK(), rsaL, "unique.rsa", 257), "unique.rsa", -1, "size 257 exceeds the 256 bytes left"},
		{"a byte after the key", append(rsaAK(), 0), "end", len(rsaAK()), "trailing"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := ParsePublic(tc.in)
			if p != nil {
				t.Errorf("ParsePublic returned %+v with the error", p)
			}
			wantParseError(t, err, tc.field, tc.offset)
			if err != nil && !strings.Contains(err.Error(), tc.says) {
				t.Errorf("error %q does not say %q", err, tc.says)
			}
		})
	}
}

// TestParsePublicRSAKey checks the key itself, not only against go-tpm.
func TestParsePublicRSAKey(t *testing.T) {
	want := &rsa2048().PublicKey
	p, err := ParsePublic(marshal(goRSAPublic(want, rsassa(tpm2.TPMAlgSHA256))))
	if err != nil {
		t.Fatal(err)
	}
	got, ok := p.Key.(*rsa.PublicKey)
	if !ok || got.N.Cmp(want.N) != 0 || got.E != want.E {
		t.Errorf("key %v, want %v", p.Key, want)
	}
	if got.N.Cmp(new(big.Int)) == 0 {
		t.Error("empty modulus")
	}
}

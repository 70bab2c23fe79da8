package quote

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/google/go-tpm/tpm2"
)

// The differential tests hold this package to go-tpm's tpm2.Unmarshal:
//
//   - when ours accepts an input, go-tpm accepts it too, consuming every
//     byte, with the same fields (and, for TPMT_PUBLIC, the same key as
//     tpm2.Pub), and re-marshals it to the same bytes;
//   - when go-tpm accepts an input and consumes every byte but ours refuses
//     it, the refusal is one this package makes on purpose, and its error
//     names the field the refusal is about. The refusals are listed in
//     attestRefusal, publicRefusal and signatureRefusal.
//
// go-tpm's Unmarshal neither reports how many bytes it used nor refuses
// trailing ones; it "consumed every byte" when its value re-marshals to as
// many bytes as the input had (a short input it accepted, reading a
// missing size as 0, re-marshals longer).

// outcome is what the two decoders did with one input.
type outcome int

const (
	bothRefused outcome = iota
	bothAccepted
	onlyGoTPM // explained by a deliberate refusal
	disagreed // a test failure was reported
)

type tally map[outcome]int

func (t tally) String() string {
	return fmt.Sprintf("both accepted %d, both refused %d, only go-tpm (deliberate) %d, disagreed %d",
		t[bothAccepted], t[bothRefused], t[onlyGoTPM], t[disagreed])
}

// goUnmarshal is tpm2.Unmarshal that turns a panic on hostile input into
// an error, and says whether the value used every byte of b.
func goUnmarshal[T tpm2.Marshallable, P interface {
	*T
	tpm2.Unmarshallable
}](b []byte) (v *T, all bool, err error) {
	defer func() {
		if r := recover(); r != nil {
			v, all, err = nil, false, fmt.Errorf("go-tpm panicked: %v", r)
		}
	}()
	v, err = tpm2.Unmarshal[T, P](b)
	if err != nil {
		return nil, false, err
	}
	return v, len(tpm2.Marshal(*v)) == len(b), nil
}

// judge applies the rules above to one input; diff compares accepted
// values and refusal names the field of a deliberate refusal ("" if none).
func judge(t testing.TB, in []byte, oursErr error, goOK bool, goErr error, diff func() string, refusal func() string) outcome {
	t.Helper()
	switch {
	case oursErr == nil && !goOK:
		t.Errorf("ours accepts %x; go-tpm does not (err %v, or bytes left over)", in, goErr)
		return disagreed
	case oursErr == nil:
		if d := diff(); d != "" {
			t.Errorf("ours and go-tpm differ on %x: %s", in, d)
			return disagreed
		}
		return bothAccepted
	case !goOK:
		return bothRefused
	}
	want := refusal()
	if want == "" {
		t.Errorf("go-tpm accepts %x; ours refuses it for no deliberate reason: %v", in, oursErr)
		return disagreed
	}
	var pe *ParseError
	if !errors.As(oursErr, &pe) || pe.Field != want {
		t.Errorf("ours refuses %x with %q, want a refusal of %s", in, oursErr, want)
		return disagreed
	}
	return onlyGoTPM
}

// remarshals reports whether go-tpm writes v back as exactly in.
func remarshals(v tpm2.Marshallable, in []byte) string {
	if out := tpm2.Marshal(v); !bytes.Equal(out, in) {
		return fmt.Sprintf("go-tpm re-marshals to %x", out)
	}
	return ""
}

func checkAttest(t testing.TB, in []byte) outcome {
	t.Helper()
	ours, oursErr := ParseAttest(in)
	if (ours == nil) == (oursErr == nil) {
		t.Fatalf("ParseAttest(%x) = %v, %v: want exactly one", in, ours, oursErr)
	}
	g, all, goErr := goUnmarshal[tpm2.TPMSAttest](in)
	return judge(t, in, oursErr, all, goErr,
		func() string { return join(attestDiff(ours, g), remarshals(g, in)) },
		func() string { return attestRefusal(g, in) })
}

// attestRefusal is the field of a TPMS_ATTEST go-tpm decoded that ParseAttest
// refuses on purpose, checked in wire order as ParseAttest reads it.
func attestRefusal(g *tpm2.TPMSAttest, in []byte) string {
	if g.Magic != tpm2.TPMGeneratedValue {
		return "magic" // not made by a TPM
	}
	if g.Type != tpm2.TPMSTAttestQuote {
		return "type" // a certification, audit or time attestation, not a quote
	}
	// go-tpm reads any non-zero safe byte as YES.
	if safe := 4 + 2 + 2 + len(g.QualifiedSigner.Buffer) + 2 + len(g.ExtraData.Buffer) + 8 + 4 + 4; in[safe] > 1 {
		return "clockInfo.safe"
	}
	info, err := g.Attested.Quote()
	if err != nil {
		return ""
	}
	sels := info.PCRSelect.PCRSelections
	if len(sels) > maxPCRSelections {
		return "pcrSelect.count" // go-tpm takes up to 4096
	}
	for i, s := range sels {
		if len(s.PCRSelect) > maxSizeofSelect {
			return fmt.Sprintf("pcrSelections[%d].sizeofSelect", i) // go-tpm takes up to 255
		}
	}
	return ""
}

func checkSignature(t testing.TB, in []byte) outcome {
	t.Helper()
	ours, oursErr := ParseSignature(in)
	if (ours == nil) == (oursErr == nil) {
		t.Fatalf("ParseSignature(%x) = %v, %v: want exactly one", in, ours, oursErr)
	}
	g, all, goErr := goUnmarshal[tpm2.TPMTSignature](in)
	return judge(t, in, oursErr, all, goErr,
		func() string { return join(signatureDiff(ours, g), remarshals(g, in)) },
		func() string { return signatureRefusal(g) })
}

func signatureDiff(ours *Signature, g *tpm2.TPMTSignature) string {
	var gs Signature
	gs.Alg = uint16(g.SigAlg)
	switch g.SigAlg {
	case tpm2.TPMAlgRSASSA, tpm2.TPMAlgRSAPSS:
		s, err := g.Signature.RSASSA()
		if g.SigAlg == tpm2.TPMAlgRSAPSS {
			s, err = g.Signature.RSAPSS()
		}
		if err != nil {
			return err.Error()
		}
		gs.Hash, gs.RSA = uint16(s.Hash), s.Sig.Buffer
	case tpm2.TPMAlgECDSA:
		s, err := g.Signature.ECDSA()
		if err != nil {
			return err.Error()
		}
		gs.Hash, gs.R, gs.S = uint16(s.Hash), s.SignatureR.Buffer, s.SignatureS.Buffer
	}
	if ours.Alg != gs.Alg || ours.Hash != gs.Hash || !bytes.Equal(ours.RSA, gs.RSA) ||
		!bytes.Equal(ours.R, gs.R) || !bytes.Equal(ours.S, gs.S) {
		return fmt.Sprintf("ours %+v, go-tpm %+v", *ours, gs)
	}
	return ""
}

// signatureRefusal: ParseSignature takes only the three quote schemes;
// go-tpm also takes HMAC, ECDAA and NULL.
func signatureRefusal(g *tpm2.TPMTSignature) string {
	switch g.SigAlg {
	case tpm2.TPMAlgRSASSA, tpm2.TPMAlgRSAPSS, tpm2.TPMAlgECDSA:
		return ""
	}
	return "sigAlg"
}

func checkPublic(t testing.TB, in []byte) outcome {
	t.Helper()
	ours, oursErr := ParsePublic(in)
	if (ours == nil) == (oursErr == nil) {
		t.Fatalf("ParsePublic(%x) = %v, %v: want exactly one", in, ours, oursErr)
	}
	g, all, goErr := goUnmarshal[tpm2.TPMTPublic](in)
	return judge(t, in, oursErr, all, goErr,
		func() string { return join(publicDiff(ours, g), remarshals(g, in)) },
		func() string { return publicRefusal(g) })
}

// goScheme is the scheme and hash of go-tpm's decoded TPMT_RSA_SCHEME or
// TPMT_ECC_SCHEME, read back from its marshalling (go-tpm has no accessor
// for every scheme's details).
func goScheme(v tpm2.Marshallable) (scheme, hash uint16) {
	b := tpm2.Marshal(v)
	scheme, hash = binary.BigEndian.Uint16(b), AlgNull
	if len(b) >= 4 {
		hash = binary.BigEndian.Uint16(b[2:])
	}
	return scheme, hash
}

func publicDiff(ours *Public, g *tpm2.TPMTPublic) string {
	var d []string
	check := func(ok bool, field string, a, b any) {
		if !ok {
			d = append(d, fmt.Sprintf("%s: ours %v, go-tpm %v", field, a, b))
		}
	}
	check(ours.Type == uint16(g.Type), "type", ours.Type, g.Type)
	check(ours.NameAlg == uint16(g.NameAlg), "nameAlg", ours.NameAlg, g.NameAlg)
	attrs := binary.BigEndian.Uint32(tpm2.Marshal(&g.ObjectAttributes))
	check(ours.Attributes == attrs, "objectAttributes", ours.Attributes, attrs)
	check(bytes.Equal(ours.AuthPolicy, g.AuthPolicy.Buffer), "authPolicy", ours.AuthPolicy, g.AuthPolicy.Buffer)
	var scheme, hash uint16
	if p, err := g.Parameters.RSADetail(); err == nil && g.Type == tpm2.TPMAlgRSA {
		scheme, hash = goScheme(&p.Scheme)
	} else if p, err := g.Parameters.ECCDetail(); err == nil && g.Type == tpm2.TPMAlgECC {
		scheme, hash = goScheme(&p.Scheme)
	}
	check(ours.Scheme == scheme, "scheme", ours.Scheme, scheme)
	check(ours.SchemeHash == hash, "schemeHash", ours.SchemeHash, hash)
	k, err := tpm2.Pub(*g)
	eq, ok := ours.Key.(interface{ Equal(crypto.PublicKey) bool })
	check(err == nil && ok && eq.Equal(k), "key", ours.Key, k)
	return strings.Join(d, "; ")
}

// publicRefusal is the field of a TPMT_PUBLIC go-tpm decoded that
// ParsePublic refuses on purpose, in wire order.
func publicRefusal(g *tpm2.TPMTPublic) string {
	switch g.Type {
	case tpm2.TPMAlgRSA:
		p, err := g.Parameters.RSADetail()
		if err != nil {
			return ""
		}
		if f := symRefusal(p.Symmetric); f != "" {
			return f
		}
		switch p.Scheme.Scheme {
		case tpm2.TPMAlgNull, tpm2.TPMAlgRSASSA, tpm2.TPMAlgRSAPSS, tpm2.TPMAlgRSAES, tpm2.TPMAlgOAEP:
		default:
			return "parameters.scheme.scheme" // an ECC scheme for an RSA key
		}
		if p.KeyBits < minRSABits || p.KeyBits > maxRSABits || p.KeyBits%8 != 0 {
			return "parameters.keyBits"
		}
		if e := p.Exponent; e == 1 || e == 2 || (e != 0 && e%2 == 0) || e > maxExponent {
			return "parameters.exponent"
		}
		if n, err := g.Unique.RSA(); err == nil && len(n.Buffer)*8 != int(p.KeyBits) {
			return "unique.rsa"
		}
	case tpm2.TPMAlgECC:
		return eccRefusal(g)
	default:
		return "type" // a keyed hash, symmetric cipher or no key at all
	}
	return ""
}

func symRefusal(s tpm2.TPMTSymDefObject) string {
	if s.Algorithm != tpm2.TPMAlgNull && s.Algorithm != tpm2.TPMAlgAES {
		return "parameters.symmetric.algorithm" // XOR is no TPMI_ALG_SYM_OBJECT
	}
	return ""
}

func eccRefusal(g *tpm2.TPMTPublic) string {
	p, err := g.Parameters.ECCDetail()
	if err != nil {
		return ""
	}
	if f := symRefusal(p.Symmetric); f != "" {
		return f
	}
	switch p.Scheme.Scheme {
	case tpm2.TPMAlgNull, tpm2.TPMAlgECDSA, tpm2.TPMAlgECDH, tpm2.TPMAlgECMQV, tpm2.TPMAlgECDAA:
	default:
		return "parameters.scheme.scheme" // an RSA scheme for an ECC key
	}
	_, size, _ := curve(uint16(p.CurveID))
	if size == 0 {
		return "parameters.curveID" // BN or SM2 curves, or none
	}
	switch p.KDF.Scheme {
	case tpm2.TPMAlgNull, tpm2.TPMAlgMGF1, tpm2.TPMAlgKDF1SP80056A, tpm2.TPMAlgKDF2, tpm2.TPMAlgKDF1SP800108:
	default:
		return "parameters.kdf.scheme" // go-tpm's ECDH "KDF"
	}
	pt, err := g.Unique.ECC()
	if err != nil {
		return ""
	}
	if len(pt.X.Buffer) > size {
		return "unique.ecc.x"
	}
	if len(pt.Y.Buffer) > size {
		return "unique.ecc.y"
	}
	// Checked independently of ParsePublic: crypto/ecdh's own validation.
	if k, err := tpm2.Pub(*g); err != nil {
		return "unique.ecc"
	} else if _, err := k.(*ecdsa.PublicKey).ECDH(); err != nil {
		return "unique.ecc" // not on the curve
	}
	return ""
}

func join(s ...string) string {
	var out []string
	for _, x := range s {
		if x != "" {
			out = append(out, x)
		}
	}
	return strings.Join(out, "; ")
}

// mutate damages a copy of b in one to three places, favouring the edits
// that reach length and selector fields.
func mutate(rng *rand.Rand, b []byte) []byte {
	out := bytes.Clone(b)
	interesting := []byte{0, 1, 2, 3, 0x10, 0x14, 0x18, 0x20, 0x21, 0x23, 0x7f, 0x80, 0xff}
	for range 1 + rng.IntN(3) {
		if len(out) == 0 {
			out = append(out, byte(rng.UintN(256)))
			continue
		}
		i := rng.IntN(len(out))
		switch rng.IntN(8) {
		case 0:
			out[i] ^= 1 << rng.IntN(8)
		case 1:
			out[i] = byte(rng.UintN(256))
		case 2:
			out = out[:i]
		case 3:
			for range 1 + rng.IntN(4) {
				out = append(out, byte(rng.UintN(256)))
			}
		case 4:
			out = append(out[:i], append([]byte{byte(rng.UintN(256))}, out[i:]...)...)
		case 5:
			out = append(out[:i], out[i+1:]...)
		case 6:
			if i+1 < len(out) {
				binary.BigEndian.PutUint16(out[i:], uint16(rng.IntN(80)))
			}
		case 7:
			out[i] = interesting[rng.IntN(len(interesting))]
		}
	}
	return out
}

func randBytes(rng *rand.Rand, max int) []byte {
	b := make([]byte, rng.IntN(max+1))
	for i := range b {
		b[i] = byte(rng.UintN(256))
	}
	return b
}

func pick[T any](rng *rand.Rand, v ...T) T { return v[rng.IntN(len(v))] }

// randomAttest is a well-formed quote with random contents.
func randomAttest(rng *rand.Rand) []byte {
	var sels []tpm2.TPMSPCRSelection
	for range rng.IntN(5) {
		sels = append(sels, tpm2.TPMSPCRSelection{
			Hash:      pick(rng, tpm2.TPMAlgSHA1, tpm2.TPMAlgSHA256, tpm2.TPMAlgSHA384, tpm2.TPMIAlgHash(rng.UintN(1<<16))),
			PCRSelect: randBytes(rng, 5),
		})
	}
	a := goAttestWith(tpm2.TPMLPCRSelection{PCRSelections: sels})
	a.QualifiedSigner.Buffer = randBytes(rng, 66)
	a.ExtraData.Buffer = randBytes(rng, 64)
	a.ClockInfo = tpm2.TPMSClockInfo{Clock: rng.Uint64(), ResetCount: rng.Uint32(), RestartCount: rng.Uint32(), Safe: rng.IntN(2) == 1}
	a.FirmwareVersion = rng.Uint64()
	q, _ := a.Attested.Quote()
	q.PCRDigest.Buffer = randBytes(rng, 64)
	return marshal(a)
}

// randomSignature is a well-formed TPMT_SIGNATURE, mostly of the schemes
// ParseSignature takes.
func randomSignature(rng *rand.Rand) []byte {
	h := pick(rng, tpm2.TPMAlgSHA1, tpm2.TPMAlgSHA256, tpm2.TPMAlgSHA384, tpm2.TPMIAlgHash(rng.UintN(1<<16)))
	switch rng.IntN(6) {
	case 0:
		return marshal(goRSASig(tpm2.TPMAlgRSASSA, h, randBytes(rng, 512)))
	case 1:
		return marshal(goRSASig(tpm2.TPMAlgRSAPSS, h, randBytes(rng, 512)))
	case 2, 3:
		return marshal(goECDSASig(h, randBytes(rng, 66), randBytes(rng, 66)))
	case 4:
		return marshal(tpm2.TPMTSignature{SigAlg: tpm2.TPMAlgNull})
	}
	return marshal(tpm2.TPMTSignature{SigAlg: tpm2.TPMAlgECDAA, Signature: tpm2.NewTPMUSignature(tpm2.TPMAlgECDAA,
		&tpm2.TPMSSignatureECC{Hash: h, SignatureR: tpm2.TPM2BECCParameter{Buffer: randBytes(rng, 32)}})})
}

// randomPublic is a well-formed RSA or ECC TPMT_PUBLIC with a random
// scheme, name algorithm, attributes and policy.
func randomPublic(rng *rand.Rand) []byte {
	var g tpm2.TPMTPublic
	if rng.IntN(2) == 0 {
		k := pick(rng, &rsa2048().PublicKey, &rsa1024().PublicKey)
		g = goRSAPublic(k, pick(rng, rsassa(tpm2.TPMAlgSHA256), rsapss(tpm2.TPMAlgSHA384),
			tpm2.TPMTRSAScheme{Scheme: tpm2.TPMAlgNull},
			tpm2.TPMTRSAScheme{Scheme: tpm2.TPMAlgRSAES, Details: tpm2.NewTPMUAsymScheme(tpm2.TPMAlgRSAES, &tpm2.TPMSEncSchemeRSAES{})},
			tpm2.TPMTRSAScheme{Scheme: tpm2.TPMAlgOAEP, Details: tpm2.NewTPMUAsymScheme(tpm2.TPMAlgOAEP, &tpm2.TPMSEncSchemeOAEP{HashAlg: tpm2.TPMAlgSHA256})}))
		if rng.IntN(4) == 0 {
			g = goEK(&rsa2048().PublicKey)
		}
	} else {
		k := pick(rng, &ecP256().PublicKey, &ecP384().PublicKey, &ecP521().PublicKey)
		g = goECCPublic(k, pick(rng, ecdsaScheme(tpm2.TPMAlgSHA256), tpm2.TPMTECCScheme{Scheme: tpm2.TPMAlgNull},
			tpm2.TPMTECCScheme{Scheme: tpm2.TPMAlgECDH, Details: tpm2.NewTPMUAsymScheme(tpm2.TPMAlgECDH, &tpm2.TPMSKeySchemeECDH{HashAlg: tpm2.TPMAlgSHA384})},
			tpm2.TPMTECCScheme{Scheme: tpm2.TPMAlgECMQV, Details: tpm2.NewTPMUAsymScheme(tpm2.TPMAlgECMQV, &tpm2.TPMSKeySchemeECMQV{HashAlg: tpm2.TPMAlgSHA256})},
			tpm2.TPMTECCScheme{Scheme: tpm2.TPMAlgECDAA, Details: tpm2.NewTPMUAsymScheme(tpm2.TPMAlgECDAA, &tpm2.TPMSSchemeECDAA{HashAlg: tpm2.TPMAlgSHA256, Count: 7})}))
		if rng.IntN(4) == 0 {
			p, _ := g.Parameters.ECCDetail()
			p.KDF = tpm2.TPMTKDFScheme{Scheme: tpm2.TPMAlgKDF2, Details: tpm2.NewTPMUKDFScheme(tpm2.TPMAlgKDF2, &tpm2.TPMSKDFSchemeKDF2{HashAlg: tpm2.TPMAlgSHA256})}
		}
	}
	g.NameAlg = pick(rng, tpm2.TPMAlgSHA256, tpm2.TPMAlgSHA1, tpm2.TPMIAlgHash(rng.UintN(1<<16)))
	if rng.IntN(3) == 0 {
		g.AuthPolicy.Buffer = randBytes(rng, 64)
	}
	b := marshal(g)
	if rng.IntN(3) == 0 { // any attribute bits, reserved ones too
		binary.BigEndian.PutUint32(b[4:], rng.Uint32())
	}
	return b
}

// differential runs check over n well-formed inputs and n damaged ones.
// Most of the time goes to go-tpm's reflection; fuzzing goes further.
func differential(t *testing.T, n int, gen func(*rand.Rand) []byte, check func(testing.TB, []byte) outcome) {
	if testing.Short() {
		n /= 10
	}
	rng := rand.New(rand.NewPCG(1, 2))
	good, damaged := tally{}, tally{}
	for range n {
		b := gen(rng)
		good[check(t, b)]++
		damaged[check(t, mutate(rng, b))]++
	}
	t.Logf("well-formed: %v", good)
	t.Logf("damaged: %v", damaged)
	// Guard against a vacuous run: damaged inputs must exercise every path.
	if damaged[bothAccepted] == 0 || damaged[bothRefused] == 0 || good[bothAccepted] == 0 {
		t.Errorf("the generated inputs do not exercise both decoders: good %v, damaged %v", good, damaged)
	}
}

func TestDifferentialAttest(t *testing.T) {
	differential(t, 5000, randomAttest, checkAttest)
}

func TestDifferentialSignature(t *testing.T) {
	differential(t, 5000, randomSignature, checkSignature)
}

func TestDifferentialPublic(t *testing.T) {
	differential(t, 4000, randomPublic, checkPublic)
}

package verifier_test

// Benchmarks of the verifier's hot path with the real SQLite store and
// evidence as a TPM makes it (internal/loadgen's simulated TPMs over the
// emulated boot chain's logs):
//
//	go test ./internal/verifier -run XXX -bench . -benchmem
//
// BenchmarkSubmit is one attestation (host looked up, nonce issued, evidence
// appraised and recorded) against a fleet of enrolled hosts, the simulated
// host's quote signing left out; BenchmarkSubmitParallel and
// BenchmarkSubmitContended run many at once, as the HTTP server does, and
// include the signing (RSA 2048, four banks), so read them for the
// serialised parts rather than for CPU.

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bootproof/bootproof/internal/emuhost"
	"github.com/bootproof/bootproof/internal/enroll"
	"github.com/bootproof/bootproof/internal/loadgen"
	"github.com/bootproof/bootproof/internal/makerca"
	"github.com/bootproof/bootproof/internal/pki"
	"github.com/bootproof/bootproof/internal/store"
	"github.com/bootproof/bootproof/internal/store/sqlstore"
	"github.com/bootproof/bootproof/internal/trusttoken"
	"github.com/bootproof/bootproof/internal/verifier"
	"github.com/bootproof/bootproof/internal/wire"
)

type benchHost struct {
	rec   store.Host
	tpm   *loadgen.SimulatedTPM
	im    *loadgen.Image
	clock atomic.Uint64
}

type benchFleet struct {
	v     *verifier.Verifier
	maker *makerca.CA
	hosts []*benchHost
}

// newBenchFleet opens a SQLite store in a temporary folder and enrols n
// simulated hosts through Enroll and Activate, every tenth one failing.
func newBenchFleet(b testing.TB, n int) *benchFleet {
	b.Helper()
	ctx := context.Background()
	st, err := sqlstore.Open(ctx, filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	certPEM, keyPEM, err := pki.NewCA("bench verifier CA", time.Now())
	if err != nil {
		b.Fatal(err)
	}
	ca, err := pki.LoadCA(certPEM, keyPEM)
	if err != nil {
		b.Fatal(err)
	}
	tk, err := trusttoken.NewKey()
	if err != nil {
		b.Fatal(err)
	}
	signer, err := trusttoken.NewSigner(tk)
	if err != nil {
		b.Fatal(err)
	}
	maker, err := makerca.LoadOrCreate(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	trust := enroll.NewTrustStore()
	if err := trust.AddAnchor(maker.Certificate(), "bench maker"); err != nil {
		b.Fatal(err)
	}
	v, err := verifier.New(verifier.Config{Store: st, CA: ca, Tokens: signer, EKTrust: trust})
	if err != nil {
		b.Fatal(err)
	}
	p, err := loadgen.LoadPolicy(5 * time.Minute)
	if err != nil {
		b.Fatal(err)
	}
	if err := v.PutPolicy(ctx, "bench", "lab", p); err != nil {
		b.Fatal(err)
	}
	ims, err := loadgen.BootImages([]emuhost.Profile{emuhost.Good, emuhost.SecureBootOff})
	if err != nil {
		b.Fatal(err)
	}
	f := &benchFleet{v: v, maker: maker}
	for i := range n {
		name := fmt.Sprintf("bench-%05d", i)
		im := ims[emuhost.Good]
		if i%10 == 9 {
			im = ims[emuhost.SecureBootOff]
		}
		f.hosts = append(f.hosts, enrolBenchHost(b, v, maker, name, im))
	}
	return f
}

func enrolBenchHost(b testing.TB, v *verifier.Verifier, maker *makerca.CA, name string, im *loadgen.Image) *benchHost {
	ctx := context.Background()
	tok, _, err := v.CreateJoinToken(ctx, "bench", "lab", name, time.Hour)
	if err != nil {
		b.Fatal(err)
	}
	sim, err := loadgen.NewSimulatedTPM(loadgen.EKECC, benchAK, maker, name)
	if err != nil {
		b.Fatal(err)
	}
	ck, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	pub, _ := x509.MarshalPKIXPublicKey(&ck.PublicKey)
	ans, err := v.Enroll(ctx, wire.EnrollRequest{ProtocolVersion: 1, JoinToken: tok, Host: name, TPMFamily: wire.FamilyTPM20,
		EKPublic: sim.EKPublic, EKCert: sim.EKCert, AKPublic: sim.AKPublic, ClientPublicKey: pub})
	if err != nil {
		b.Fatal(err)
	}
	secret, err := sim.ActivateCredential(ans.Challenge.CredentialBlob, ans.Challenge.EncryptedSeed)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := v.Activate(ctx, wire.ActivateRequest{ChallengeID: ans.Challenge.ChallengeID, Secret: secret}); err != nil {
		b.Fatal(err)
	}
	h, err := v.Store().GetHost(ctx, name)
	if err != nil {
		b.Fatal(err)
	}
	return &benchHost{rec: h, tpm: sim, im: im}
}

// attest is one attestation as the agent handlers run it: the host looked
// up, a nonce issued, the evidence appraised and recorded.
// With pause, the simulated host's signing is left out of the timing.
func (f *benchFleet) attest(b *testing.B, bh *benchHost, pause bool) {
	ctx := context.Background()
	h, err := f.v.Store().GetHost(ctx, bh.rec.Name)
	if err != nil {
		b.Fatal(err)
	}
	n, err := f.v.Nonce(ctx, h)
	if err != nil {
		b.Fatal(err)
	}
	if pause {
		b.StopTimer()
	}
	ev, err := bh.tpm.Evidence(bh.im, n.Nonce, bh.clock.Add(60_000))
	if err != nil {
		b.Fatal(err)
	}
	if pause {
		b.StartTimer()
	}
	res, err := f.v.Submit(ctx, h, ev)
	if err != nil {
		b.Fatal(err)
	}
	if res.Status != bh.im.Expect {
		b.Fatalf("%s: %s (%s), want %s", h.Name, res.Status, res.Reason, bh.im.Expect)
	}
}

const benchFleetSize = 1000

func BenchmarkSubmit(b *testing.B) {
	f := newBenchFleet(b, benchFleetSize)
	b.ResetTimer()
	i := 0
	for b.Loop() {
		f.attest(b, f.hosts[i%len(f.hosts)], true)
		i++
	}
}

func BenchmarkSubmitParallel(b *testing.B) {
	f := newBenchFleet(b, benchFleetSize)
	var next atomic.Int64
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			// Each host attests in turn; two goroutines never hold one host
			// (its TPM clock must grow), as benchFleetSize exceeds the workers.
			f.attest(b, f.hosts[int(next.Add(1)-1)%len(f.hosts)], false)
		}
	})
}

// BenchmarkSubmitContended runs 64 attestations at once per CPU, as a
// verifier under a fleet's load does: it shows the serialised parts (the
// store's single SQLite writer) rather than CPU.
func BenchmarkSubmitContended(b *testing.B) {
	f := newBenchFleet(b, benchFleetSize)
	var next atomic.Int64
	b.SetParallelism(64)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			f.attest(b, f.hosts[int(next.Add(1)-1)%len(f.hosts)], false)
		}
	})
}

// benchAK is the AK kind of the bench hosts: RSA 2048, as tpm.AKTemplate
// makes on a real host.
const benchAK = loadgen.AKRSA

// freshEvidence reads bh's host record, takes a nonce for it and quotes it
// into evidence, as the agent does at the start of each attestation.
func (f *benchFleet) freshEvidence(t testing.TB, bh *benchHost) (store.Host, *wire.Evidence) {
	t.Helper()
	ctx := context.Background()
	h, err := f.v.Store().GetHost(ctx, bh.rec.Name)
	if err != nil {
		t.Fatal(err)
	}
	n, err := f.v.Nonce(ctx, h)
	if err != nil {
		t.Fatal(err)
	}
	ev, err := bh.tpm.Evidence(bh.im, n.Nonce, bh.clock.Add(60_000))
	if err != nil {
		t.Fatal(err)
	}
	return h, ev
}

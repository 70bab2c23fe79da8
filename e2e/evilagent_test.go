package e2e

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-tpm/tpm2"

	"github.com/bootproof/bootproof/internal/emuhost"
	"github.com/bootproof/bootproof/internal/eventlog"
	"github.com/bootproof/bootproof/internal/makerca"
	"github.com/bootproof/bootproof/internal/pki"
	"github.com/bootproof/bootproof/internal/tpm"
	"github.com/bootproof/bootproof/internal/wire"
)

// evil is a malicious agent: a real TPM (the reference TPM in this test
// process), a genuine emulated boot, and a client that speaks /agent/v1 as
// internal/agent does, but lets the test tamper with everything it sends.
// The reference TPM is one per process, so at most one evil host may hold
// its TPM at a time: close it (closeTPM) before the next opens one.
type evil struct {
	t    *testing.T
	f    *fleet
	name string
	seed int64
	dev  *tpm.Device
	ak   *tpm.AK
	boot *emuhost.BootResult
	// akBlob survives closing the TPM: the AK loads again on a reopen.
	akBlob []byte
	http   *http.Client // with the client certificate once enrolled
}

// newEvil opens a TPM seeded like host name would be (or with seed),
// gives it the maker's EK certificate and boots profile on it.
func (f *fleet) newEvil(t *testing.T, name string, profile emuhost.Profile, seed int64) *evil {
	t.Helper()
	if seed == 0 {
		seed = emuhost.HostSeed(name)
	}
	e := &evil{t: t, f: f, name: name, seed: seed}
	e.openTPM()
	e.bootOS(profile)
	t.Cleanup(e.closeTPM)
	return e
}

func (e *evil) openTPM() {
	e.t.Helper()
	dev, err := tpm.OpenSimulator(e.seed)
	if err != nil {
		e.t.Fatal(err)
	}
	e.dev = dev
	ca, err := makerca.LoadOrCreate(filepath.Join(e.f.dir, "maker"))
	if err != nil {
		e.t.Fatal(err)
	}
	ekPub, cert, err := dev.EK()
	if err != nil {
		e.t.Fatal(err)
	}
	if len(cert) == 0 {
		pub, err := tpm2.Unmarshal[tpm2.TPMTPublic](ekPub)
		if err != nil {
			e.t.Fatal(err)
		}
		key, err := tpm2.Pub(*pub)
		if err != nil {
			e.t.Fatal(err)
		}
		der, err := ca.IssueEKCert(key, fmt.Sprintf("%x", e.seed))
		if err != nil {
			e.t.Fatal(err)
		}
		if err := dev.ProvisionEKCert(der); err != nil {
			e.t.Fatal(err)
		}
	}
	if e.akBlob != nil {
		if e.ak, err = dev.LoadAK(e.akBlob); err != nil {
			e.t.Fatal(err)
		}
	}
}

func (e *evil) closeTPM() {
	if e.dev != nil {
		_ = e.dev.Close()
		e.dev, e.ak = nil, nil
	}
}

func (e *evil) bootOS(profile emuhost.Profile) {
	e.t.Helper()
	res, err := emuhost.Boot(e.dev, emuhost.BootConfig{Profile: profile})
	if err != nil {
		e.t.Fatal(err)
	}
	if res.Halted != nil {
		e.t.Fatalf("%s did not boot: %v", profile, res.Halted)
	}
	e.boot = res
}

// rebootTPM resets the TPM (a host reboot): PCRs back to zero, reset count up.
func (e *evil) rebootTPM() {
	e.t.Helper()
	if err := e.dev.Reboot(); err != nil {
		e.t.Fatal(err)
	}
	ak, err := e.dev.LoadAK(e.akBlob)
	if err != nil {
		e.t.Fatal(err)
	}
	e.ak = ak
}

// replayInto extends every event of log into the TPM, as firmware that
// measured exactly those events would have: log and PCRs then agree.
func (e *evil) replayInto(log []byte) {
	e.t.Helper()
	l, err := eventlog.Parse(log)
	if err != nil {
		e.t.Fatal(err)
	}
	for _, ev := range l.Events {
		if ev.Type == eventlog.EvNoAction {
			continue
		}
		if err := e.dev.Extend(ev.PCR, ev.Digests); err != nil {
			e.t.Fatal(err)
		}
	}
}

// answer is the verifier's reply to one agent request.
type answer struct {
	Status int
	Err    wire.Error
	Body   []byte
}

func (a answer) String() string { return fmt.Sprintf("%d %s %s", a.Status, a.Err.Code, a.Err.Message) }

func (e *evil) client(cert *tls.Certificate) *http.Client {
	e.t.Helper()
	ca, err := os.ReadFile(e.f.caFile())
	if err != nil {
		e.t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca)
	tc := &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	if cert != nil {
		tc.Certificates = []tls.Certificate{*cert}
	}
	return &http.Client{Transport: &http.Transport{TLSClientConfig: tc}, Timeout: 30 * time.Second}
}

func (e *evil) call(c *http.Client, method, path string, in, out any) answer {
	e.t.Helper()
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			e.t.Fatal(err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(context.Background(), method, e.f.url+path, body)
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	a := answer{Status: resp.StatusCode}
	a.Body, _ = io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		_ = json.Unmarshal(a.Body, &a.Err)
	} else if out != nil {
		if err := json.Unmarshal(a.Body, out); err != nil {
			e.t.Fatalf("%s %s: decode %s: %v", method, path, a.Body, err)
		}
	}
	return a
}

// enrollRequest is the first enrolment message with this TPM's EK and a
// fresh AK, and the client key it asks the verifier to certify.
func (e *evil) enrollRequest(token string) (wire.EnrollRequest, []byte) {
	e.t.Helper()
	ekPub, ekCert, err := e.dev.EK()
	if err != nil {
		e.t.Fatal(err)
	}
	if e.ak == nil {
		if e.ak, err = e.dev.CreateAK(); err != nil {
			e.t.Fatal(err)
		}
		e.akBlob = e.ak.Blob()
	}
	keyPEM, pubDER, err := pki.NewClientKey()
	if err != nil {
		e.t.Fatal(err)
	}
	return wire.EnrollRequest{ProtocolVersion: wire.ProtocolVersion, JoinToken: token, Host: e.name,
		TPMFamily: wire.FamilyTPM20, EKPublic: ekPub, EKCert: ekCert, AKPublic: e.ak.Public(), ClientPublicKey: pubDER}, keyPEM
}

// enroll runs the honest enrolment protocol and keeps the client certificate.
func (e *evil) enroll(token string) {
	e.t.Helper()
	req, keyPEM := e.enrollRequest(token)
	anon := e.client(nil)
	var ans wire.EnrollAnswer
	if a := e.call(anon, "POST", "/agent/v1/enroll", req, &ans); a.Status != 200 || ans.Challenge == nil {
		e.t.Fatalf("enrol %s: %v", e.name, a)
	}
	secret, err := e.dev.ActivateCredential(e.ak, ans.Challenge.CredentialBlob, ans.Challenge.EncryptedSeed)
	if err != nil {
		e.t.Fatal(err)
	}
	var res wire.EnrollResult
	if a := e.call(anon, "POST", "/agent/v1/activate", wire.ActivateRequest{ChallengeID: ans.Challenge.ChallengeID, Secret: secret}, &res); a.Status != 200 {
		e.t.Fatalf("activate %s: %v", e.name, a)
	}
	cert, err := tls.X509KeyPair(res.ClientCertPEM, keyPEM)
	if err != nil {
		e.t.Fatal(err)
	}
	e.http = e.client(&cert)
}

func (e *evil) nonce() []byte {
	e.t.Helper()
	var n wire.NonceResponse
	if a := e.call(e.http, "GET", "/agent/v1/nonce", nil, &n); a.Status != 200 {
		e.t.Fatalf("nonce for %s: %v", e.name, a)
	}
	return n.Nonce
}

// evidence is what the honest agent would send for nonce: one quote of
// every PCR in every bank, the boot's event log and its bundles.
func (e *evil) evidence(nonce []byte) *wire.Evidence {
	e.t.Helper()
	ev := &wire.Evidence{Nonce: nonce, TPMFamily: wire.FamilyTPM20, EventLog: bytes.Clone(e.boot.EventLog)}
	for _, b := range e.boot.Bundles {
		ev.Bundles = append(ev.Bundles, bytes.Clone(b))
	}
	ev.Quotes = []wire.Quote{e.quote(nonce, e.boot.Banks...)}
	return ev
}

// quote has the TPM quote every PCR of banks in one quote, as the agent does.
func (e *evil) quote(nonce []byte, banks ...eventlog.Alg) wire.Quote {
	e.t.Helper()
	att, sig, pcrs, err := e.dev.Quote(e.ak, nonce, banks...)
	if err != nil {
		e.t.Fatal(err)
	}
	q := wire.Quote{Attest: att, Signature: sig, PCRs: map[string]map[int][]byte{}}
	for bank, vals := range pcrs {
		q.PCRs[bank.String()] = vals
	}
	return q
}

// quoteSome has the TPM quote only the given PCRs of bank: a genuine
// quote, genuinely signed by the enrolled AK, over a selection chosen by the
// attacker.
func (e *evil) quoteSome(nonce []byte, bank eventlog.Alg, pcrs []uint) wire.Quote {
	e.t.Helper()
	sel := make([]int, len(pcrs))
	for i, p := range pcrs {
		sel[i] = int(p)
	}
	att, sig, err := e.dev.QuoteSelection(e.ak, nonce, bank, sel)
	if err != nil {
		e.t.Fatalf("quote pcrs %v: %v", pcrs, err)
	}
	all, err := e.dev.ReadPCRs(bank)
	if err != nil {
		e.t.Fatal(err)
	}
	vals := map[int][]byte{}
	for _, p := range pcrs {
		vals[int(p)] = all[int(p)]
	}
	return wire.Quote{Attest: att, Signature: sig, PCRs: map[string]map[int][]byte{bank.String(): vals}}
}

// submit posts evidence and returns the verifier's answer and verdict.
func (e *evil) submit(ev *wire.Evidence) (answer, wire.EvidenceResult) {
	e.t.Helper()
	var res wire.EvidenceResult
	a := e.call(e.http, "POST", "/agent/v1/evidence", ev, &res)
	return a, res
}

// attestHonestly runs one honest attestation and requires Passed.
func (e *evil) attestHonestly() {
	e.t.Helper()
	a, res := e.submit(e.evidence(e.nonce()))
	if a.Status != 200 || res.Status != "Passed" {
		h, _ := e.f.get(e.name)
		e.t.Fatalf("honest evidence of %s: %v %+v; host %s %s", e.name, a, res, h.Status, h.ReasonCode)
	}
}

// rewriteLog parses a log, lets edit change its events (the Spec ID
// header excluded) and writes it again with the same banks.
func rewriteLog(t *testing.T, log []byte, edit func([]eventlog.Event) []eventlog.Event) []byte {
	t.Helper()
	l, err := eventlog.Parse(log)
	if err != nil {
		t.Fatal(err)
	}
	events := edit(append([]eventlog.Event(nil), l.Events[1:]...))
	w := eventlog.NewWriter(l.Banks)
	for _, ev := range events {
		if err := w.Append(ev.PCR, ev.Type, ev.Digests, ev.Data); err != nil {
			t.Fatal(err)
		}
	}
	return w.Bytes()
}

// findEvent returns the index of the first event matching, or fails.
func findEvent(t *testing.T, events []eventlog.Event, match func(eventlog.Event) bool) int {
	t.Helper()
	for i, ev := range events {
		if match(ev) {
			return i
		}
	}
	t.Fatal("no such event in the log")
	return -1
}

func isVariable(name string) func(eventlog.Event) bool {
	want := utf16le(name)
	return func(ev eventlog.Event) bool {
		return ev.Type == eventlog.EvEFIVariableDriverConfig && bytes.Contains(ev.Data, want)
	}
}

func utf16le(s string) []byte {
	var b []byte
	for _, r := range s {
		b = append(b, byte(r), 0)
	}
	return b
}

func hasPrefixData(prefix string) func(eventlog.Event) bool {
	return func(ev eventlog.Event) bool { return strings.HasPrefix(string(ev.Data), prefix) }
}

// quoteEveryBank quotes pcrs in every bank the boot extended.
func (e *evil) quoteEveryBank(nonce []byte, pcrs []uint) []wire.Quote {
	var out []wire.Quote
	for _, b := range e.boot.Banks {
		out = append(out, e.quoteSome(nonce, b, pcrs))
	}
	return out
}

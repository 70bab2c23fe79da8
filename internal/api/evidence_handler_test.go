package api_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rsa"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/google/go-attestation/attest"
	"github.com/google/go-tpm/tpm2"

	"github.com/bootproof/bootproof/internal/api"
	"github.com/bootproof/bootproof/internal/auth"
	"github.com/bootproof/bootproof/internal/server/servertest"
	"github.com/bootproof/bootproof/internal/store"
	"github.com/bootproof/bootproof/internal/wire"
)

// hostEvidenceHappy is the endpoint table's happy path on the shared
// fixture: the fixture's host gets its evidence and its enrolled AK.
// TestHostEvidenceReverifiable checks the bytes against what was sent.
func hostEvidenceHappy(t *testing.T, f *fixture) {
	var got api.HostEvidence
	f.mustJSON(t, "GET", "/api/v1/hosts/"+hostA+"/evidence", auth.Viewer, "", http.StatusOK, &got)
	h, err := f.env.Server.Store.GetHost(context.Background(), hostA)
	if err != nil {
		t.Fatal(err)
	}
	ev := got.Evidence
	if got.Host != hostA || got.At.IsZero() || ev == nil || ev.TPMFamily != wire.FamilyTPM20 ||
		len(ev.Quotes) == 0 || len(ev.EventLog) == 0 || len(ev.Nonce) == 0 {
		t.Fatalf("evidence = %+v", got)
	}
	if !bytes.Equal(got.AKPublic, h.AKPublic) || got.AKName == "" {
		t.Errorf("ak_public %x (name %q), want the enrolled %x", got.AKPublic, got.AKName, h.AKPublic)
	}
}

// recorder sits in front of a verifier's handler and keeps the body of
// every agent request, so a test knows what an agent sent byte for byte.
type recorder struct {
	mu     sync.Mutex
	bodies map[string][][]byte // by path, in order
}

// listen serves env's verifier on another TLS listener (same certificate
// and client CA, so agents' certificates and pinning work) through rec,
// and returns its URL.
func (rec *recorder) listen(t *testing.T, env *servertest.Env) string {
	t.Helper()
	tc, err := env.Server.TLSConfig()
	if err != nil {
		t.Fatal(err)
	}
	next := env.Server.Handler()
	hs := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && r.Body != nil {
			body, err := io.ReadAll(r.Body)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			rec.keep(r.URL.Path, body)
			r.Body = io.NopCloser(bytes.NewReader(body))
		}
		next.ServeHTTP(w, r)
	}))
	hs.TLS = tc
	hs.StartTLS()
	t.Cleanup(hs.Close)
	return hs.URL
}

func (rec *recorder) keep(path string, body []byte) {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if rec.bodies == nil {
		rec.bodies = map[string][][]byte{}
	}
	rec.bodies[path] = append(rec.bodies[path], body)
}

// last returns the last body sent to path.
func (rec *recorder) last(t *testing.T, path string) []byte {
	t.Helper()
	rec.mu.Lock()
	defer rec.mu.Unlock()
	bs := rec.bodies[path]
	if len(bs) == 0 {
		t.Fatalf("no agent request to %s was recorded", path)
	}
	return bs[len(bs)-1]
}

// TestHostEvidenceReverifiable: the evidence endpoint returns what the
// agent sent, byte for byte, with the AK it enrolled; and an auditor
// re-verifies it with go-tpm and go-attestation alone, without bootproof.
func TestHostEvidenceReverifiable(t *testing.T) {
	if testing.Short() {
		t.Skip("api: boots an emulated host; skipped with -short")
	}
	env := servertest.Start(t)
	f := &fixture{env: env, client: env.HTTPClient()}
	f.trustEmulatedVendors(t, "lab")
	var rec recorder
	f.runHostAt(t, rec.listen(t, env), hostA, filepath.Join(t.TempDir(), hostA), 0, "")

	var got api.HostEvidence
	f.mustJSON(t, "GET", "/api/v1/hosts/"+hostA+"/evidence", auth.Viewer, "", http.StatusOK, &got)
	if got.Host != hostA || got.At.IsZero() || got.Evidence == nil {
		t.Fatalf("evidence = %+v", got)
	}

	// Exactly what the agent sent: its JSON encoding is json.Marshal's, so
	// the served evidence encodes to the recorded body itself.
	sent := rec.last(t, "/agent/v1/evidence")
	served, err := json.Marshal(got.Evidence)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(served, sent) {
		t.Errorf("served evidence differs from the agent's request body:\n got %.300s\nwant %.300s", served, sent)
	}
	var sentEv wire.Evidence
	if err := json.Unmarshal(sent, &sentEv); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Evidence.EventLog, sentEv.EventLog) || len(got.Evidence.Quotes) != len(sentEv.Quotes) {
		t.Fatalf("event log or quotes differ from what was sent")
	}
	for i, q := range got.Evidence.Quotes {
		if !bytes.Equal(q.Attest, sentEv.Quotes[i].Attest) || !bytes.Equal(q.Signature, sentEv.Quotes[i].Signature) {
			t.Errorf("quote %d differs from what was sent", i)
		}
	}

	// The AK is the one the agent proved at enrolment, and the one stored.
	var enrolled wire.EnrollRequest
	if err := json.Unmarshal(rec.last(t, "/agent/v1/enroll"), &enrolled); err != nil {
		t.Fatal(err)
	}
	h, err := env.Server.Store.GetHost(context.Background(), hostA)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.AKPublic, enrolled.AKPublic) || !bytes.Equal(got.AKPublic, h.AKPublic) {
		t.Errorf("ak_public is not the enrolled AK")
	}

	reverify(t, got)
}

// reverify is what an auditor does with the endpoint's answer, with
// go-tpm and go-attestation only: the AK's name, each quote's signature,
// nonce and PCR digest, and the event log replayed to the quoted PCRs.
func reverify(t *testing.T, got api.HostEvidence) {
	t.Helper()
	akPub, err := tpm2.Unmarshal[tpm2.TPMTPublic](got.AKPublic)
	if err != nil {
		t.Fatalf("go-tpm: decode ak_public: %v", err)
	}
	name, err := tpm2.ObjectName(akPub)
	if err != nil {
		t.Fatal(err)
	}
	if hex.EncodeToString(name.Buffer) != got.AKName {
		t.Errorf("ak_name %s, go-tpm computes %x", got.AKName, name.Buffer)
	}
	key, err := tpm2.Pub(*akPub)
	if err != nil {
		t.Fatalf("go-tpm: AK public key: %v", err)
	}
	rsaKey, ok := key.(*rsa.PublicKey)
	if !ok {
		t.Fatalf("AK is a %T; this check knows RSA", key)
	}
	quoted := map[string]map[int][]byte{}
	for i, q := range got.Evidence.Quotes {
		checkQuote(t, i, rsaKey, q, got.Evidence.Nonce)
		for bank, vals := range q.PCRs {
			quoted[bank] = vals
		}
	}
	replay(t, got.Evidence.EventLog, quoted)
}

// checkQuote verifies one quote's RSASSA signature with the AK, that it is
// a TPM-made quote over the nonce, and that its PCR digest is the digest of
// the PCR values sent with it, in the quote's own selection order.
func checkQuote(t *testing.T, i int, ak *rsa.PublicKey, q wire.Quote, nonce []byte) {
	t.Helper()
	sig, err := tpm2.Unmarshal[tpm2.TPMTSignature](q.Signature)
	if err != nil {
		t.Fatalf("quote %d: go-tpm: decode signature: %v", i, err)
	}
	rsassa, err := sig.Signature.RSASSA()
	if err != nil {
		t.Fatalf("quote %d: not an RSASSA signature: %v", i, err)
	}
	h, err := rsassa.Hash.Hash()
	if err != nil {
		t.Fatal(err)
	}
	if err := rsa.VerifyPKCS1v15(ak, h, digest(h, q.Attest), rsassa.Sig.Buffer); err != nil {
		t.Fatalf("quote %d: signature does not verify with ak_public: %v", i, err)
	}
	att, err := tpm2.Unmarshal[tpm2.TPMSAttest](q.Attest)
	if err != nil {
		t.Fatalf("quote %d: go-tpm: decode TPMS_ATTEST: %v", i, err)
	}
	if att.Magic != tpm2.TPMGeneratedValue || att.Type != tpm2.TPMSTAttestQuote {
		t.Fatalf("quote %d: magic %x type %x: not a quote made by a TPM", i, att.Magic, att.Type)
	}
	if !bytes.Equal(att.ExtraData.Buffer, nonce) {
		t.Errorf("quote %d: extraData %x, want the nonce %x", i, att.ExtraData.Buffer, nonce)
	}
	info, err := att.Attested.Quote()
	if err != nil {
		t.Fatal(err)
	}
	var cat []byte
	for _, sel := range info.PCRSelect.PCRSelections {
		bank := bankNames[tpm2.TPMAlgID(sel.Hash)]
		for _, pcr := range selectedPCRs(sel.PCRSelect) {
			v, ok := q.PCRs[bank][pcr]
			if !ok {
				t.Fatalf("quote %d selects %s PCR %d, whose value was not sent", i, bank, pcr)
			}
			cat = append(cat, v...)
		}
	}
	if !bytes.Equal(digest(h, cat), info.PCRDigest.Buffer) {
		t.Errorf("quote %d: pcrDigest does not match the PCR values sent", i)
	}
}

// replay has go-attestation replay the event log in every quoted bank.
func replay(t *testing.T, eventLog []byte, quoted map[string]map[int][]byte) {
	t.Helper()
	el, err := attest.ParseEventLog(eventLog)
	if err != nil {
		t.Fatalf("go-attestation: parse event log: %v", err)
	}
	if len(quoted) == 0 {
		t.Fatal("no PCRs were quoted")
	}
	for bank, vals := range quoted {
		h, ok := bankHashes[bank]
		if !ok {
			t.Fatalf("quoted bank %q has no hash here", bank)
		}
		var pcrs []attest.PCR
		for i, v := range vals {
			pcrs = append(pcrs, attest.PCR{Index: i, Digest: v, DigestAlg: h})
		}
		if _, err := el.Verify(pcrs); err != nil {
			t.Errorf("go-attestation: the event log does not replay to the quoted %s PCRs: %v", bank, err)
		}
	}
}

var (
	bankNames = map[tpm2.TPMAlgID]string{tpm2.TPMAlgSHA1: "sha1", tpm2.TPMAlgSHA256: "sha256",
		tpm2.TPMAlgSHA384: "sha384", tpm2.TPMAlgSHA512: "sha512"}
	bankHashes = map[string]crypto.Hash{"sha1": crypto.SHA1, "sha256": crypto.SHA256,
		"sha384": crypto.SHA384, "sha512": crypto.SHA512}
)

// selectedPCRs reads a TPMS_PCR_SELECTION bitmap: bit j of byte i is PCR 8i+j.
func selectedPCRs(bitmap []byte) []int {
	var out []int
	for i, b := range bitmap {
		for j := range 8 {
			if b&(1<<j) != 0 {
				out = append(out, 8*i+j)
			}
		}
	}
	return out
}

func digest(h crypto.Hash, b []byte) []byte {
	d := h.New()
	d.Write(b)
	return d.Sum(nil)
}

// TestHostEvidenceRefusals: who may read evidence, and the two 404s.
func TestHostEvidenceRefusals(t *testing.T) {
	env := servertest.Start(t)
	f := &fixture{env: env, client: env.HTTPClient()}
	now := time.Now()
	// A host as enrolment leaves it: known, never attested.
	if err := env.Server.Store.CreateHost(context.Background(), store.Host{Name: "esx-new", Group: "lab",
		TPMFamily: store.TPMFamily20, EnrolledAt: now, Status: store.StatusPending, StatusSince: now}); err != nil {
		t.Fatal(err)
	}
	viewer := env.Token(auth.Viewer)
	tests := []struct {
		name, host, token string
		status            int
		code              string
	}{
		{"unknown host", "no-such-host", viewer, http.StatusNotFound, "host.not_found"},
		{"never attested", "esx-new", viewer, http.StatusNotFound, "host.no_evidence"},
		{"no token", "esx-new", "", http.StatusUnauthorized, "unauthenticated"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, body, hdr := f.do(t, f.client, "GET", "/api/v1/hosts/"+tt.host+"/evidence", tt.token, nil, "")
			wantError(t, st, body, hdr, tt.status, tt.code)
		})
	}
}

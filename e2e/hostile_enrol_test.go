package e2e

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/google/go-tpm/tpm2"

	"github.com/bootproof/bootproof/internal/api"
	"github.com/bootproof/bootproof/internal/client"
	"github.com/bootproof/bootproof/internal/emuhost"
	"github.com/bootproof/bootproof/internal/makerca"
	"github.com/bootproof/bootproof/internal/policy"
	"github.com/bootproof/bootproof/internal/trusttoken"
	"github.com/bootproof/bootproof/internal/verifier"
	"github.com/bootproof/bootproof/internal/wire"
)

// TestFamilyClaimCannotMakeFailedHostNA: a host enrolled with a TPM 2.0
// boots with Secure Boot off (Failed), then its root user sends evidence
// claiming another TPM family and no quote, in a group whose policy lets
// N/A hosts take workloads. The TPM family is the enrolment's, so the host
// stays Failed and placement stays denied, by the API and by the signed
// trust token.
func TestFamilyClaimCannotMakeFailedHostNA(t *testing.T) {
	f := newFleet(t)
	f.attackPolicy(func(p *policy.Policy) { p.NAAllowed = true })
	e := f.newEvil(t, "sboff", emuhost.SecureBootOff, 0)
	e.enroll(f.joinToken("sboff", "10m"))
	if a, res := e.submit(e.evidence(e.nonce())); a.Status != 200 || res.Status != "Failed" {
		t.Fatalf("Secure Boot off, honest evidence: %v %+v, want Failed", a, res)
	}
	tests := []struct{ family, code string }{
		{wire.FamilyTPM12, "tpm.family_mismatch"},
		{wire.FamilyNone, "tpm.family_mismatch"},
		{"", "tpm.family_mismatch"},
		{"2.0 ", "tpm.family_mismatch"},
		{wire.FamilyTPM20, "quote.missing_bank"}, // the right family, still no quote
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("family %q without a quote", tt.family), func(t *testing.T) {
			a, res := e.submit(&wire.Evidence{Nonce: e.nonce(), TPMFamily: tt.family, EventLog: e.boot.EventLog})
			if a.Status != 200 || res.Status != "Failed" || res.Reason == "" {
				t.Errorf("answer %v %+v, want 200 and Failed with a reason", a, res)
			}
			h, err := f.get("sboff")
			if err != nil {
				t.Fatal(err)
			}
			if h.Status != "Failed" || h.ReasonCode != tt.code {
				t.Errorf("host is %s (%s), want Failed (%s)", h.Status, h.ReasonCode, tt.code)
			}
			assertPlacementDenied(t, f, "sboff")
		})
	}
	// N/A comes only from an enrolment without a TPM 2.0: not by this
	// host enrolling again without its TPM, nor by a name sent with this
	// TPM's keys and another family.
	for _, tt := range []struct {
		host string
		keys bool
		code string
	}{{"sboff", false, "enroll.host_exists"}, {"sboff-twin", true, "enroll.tpm_family"}} {
		en, _ := e.tryEnroll(f.joinToken("", "10m"), func(r *wire.EnrollRequest) {
			r.Host, r.TPMFamily = tt.host, wire.FamilyTPM12
			if !tt.keys {
				r.EKPublic, r.EKCert, r.AKPublic = nil, nil, nil
			}
		})
		if en.Status/100 != 4 || en.Err.Code != tt.code {
			t.Errorf("enrolling %s as TPM 1.2 (TPM keys sent: %v): %v, want %s", tt.host, tt.keys, en, tt.code)
		}
	}
	assertNotEnrolled(t, f, "sboff-twin")
}

// assertPlacementDenied checks both ways a relying party learns whether a
// host may take workloads: the placement API and a signed trust token.
func assertPlacementDenied(t *testing.T, f *fleet, host string) {
	t.Helper()
	ctx := context.Background()
	var d verifier.Decision
	if err := f.admin.Do(ctx, "GET", "/api/v1/hosts/"+host+"/placement", nil, &d); err != nil {
		t.Fatal(err)
	}
	if d.Allow || d.Trusted {
		t.Errorf("placement allows %s: %+v", host, d)
	}
	var tok struct {
		Token  string            `json:"token"`
		Claims trusttoken.Claims `json:"claims"`
	}
	if err := f.admin.Do(ctx, "POST", "/api/v1/hosts/"+host+"/trust-token", nil, &tok); err != nil {
		t.Fatal(err)
	}
	if tok.Claims.Placement != "deny" || tok.Claims.Status == "N/A" || tok.Token == "" {
		t.Errorf("trust token for %s: %+v, want placement deny", host, tok.Claims)
	}
}

// TestPendingEKNeedsActivation: a host's TPM is replaced; the genuine
// replacement enrols and waits for approval. An attacker with a join token
// and another trusted TPM's public EK and certificate (not its private key:
// it cannot activate) tries to put that TPM in the replacement's place. The
// pending EK stays the genuine one, an approval naming another EK is
// refused, and after the approval the host is Pending until the new TPM
// enrols (with the same token: the refused enrolment did not spend it) and
// attests.
func TestPendingEKNeedsActivation(t *testing.T) {
	f := newFleet(t)
	old := f.newEvil(t, "victim", emuhost.Good, 0)
	old.enroll(f.joinToken("victim", "10m"))
	old.attestHonestly()
	old.closeTPM()
	// The TPM whose public EK and certificate the attacker copies.
	other := f.newEvil(t, "other", emuhost.Good, 777)
	otherEK, otherCert, err := other.dev.EK()
	if err != nil {
		t.Fatal(err)
	}
	other.closeTPM()

	token := f.joinToken("victim", "10m")
	repl := f.newEvil(t, "victim", emuhost.Good, 4242)
	if en, act := repl.tryEnroll(token, nil); act.Status != 409 || act.Err.Code != "enroll.ek_changed" {
		t.Errorf("genuine replacement: enrol %v, activate %v; want a challenge, then 409 enroll.ek_changed", en, act)
	}
	genuine := pendingEK(t, f, "victim")
	replEK, _, err := repl.dev.EK()
	if err != nil {
		t.Fatal(err)
	}
	if want := verifier.EKRef(verifier.EKDigest(replEK)); genuine.SHA256 != want || genuine.Serial == "" {
		t.Fatalf("pending EK %+v, want %s with its certificate", genuine, want)
	}
	repl.closeTPM()

	attacker := f.newEvil(t, "victim", emuhost.Good, 999)
	stolen := f.joinToken("", "10m") // a join token of its own, for any host
	en, act := attacker.tryEnroll(stolen, func(r *wire.EnrollRequest) { r.EKPublic, r.EKCert = otherEK, otherCert })
	if act.Status == 200 || act.Err.Code == "enroll.ek_changed" {
		t.Errorf("attacker without the TPM's key: enrol %v, activate %v; want activation refused", en, act)
	}
	if got := pendingEK(t, f, "victim"); got.SHA256 != genuine.SHA256 {
		t.Fatalf("the attacker replaced the pending EK: %s, want %s", got.SHA256, genuine.SHA256)
	}
	attacker.closeTPM()

	approve := func(ek string) *client.APIError {
		var e *client.APIError
		err := f.admin.Do(context.Background(), "POST", "/api/v1/hosts/victim/approve-ek", api.ApproveEKRequest{EK: ek}, nil)
		if err != nil && !errors.As(err, &e) {
			t.Fatal(err)
		}
		return e
	}
	if e := approve(verifier.EKRef(verifier.EKDigest(otherEK))); e == nil || e.Status != 409 || e.Code != "host.pending_ek_mismatch" {
		t.Errorf("approval of the attacker's EK: %v, want 409 host.pending_ek_mismatch", e)
	}
	if e := approve(""); e == nil || e.Status != 400 || e.Code != "host.ek_required" {
		t.Errorf("approval naming no EK: %v, want 400 host.ek_required", e)
	}
	if e := approve(genuine.SHA256); e != nil {
		t.Fatalf("approval of the genuine EK: %v", e)
	}
	h, err := f.get("victim")
	if err != nil {
		t.Fatal(err)
	}
	if h.Status != "Pending" || "sha256:"+h.EKSHA256 != genuine.SHA256 || h.PendingEKInfo != nil {
		t.Errorf("after approval: %s, EK %s, pending %+v; want Pending with EK %s", h.Status, h.EKSHA256, h.PendingEKInfo, genuine.SHA256)
	}
	assertPlacementDenied(t, f, "victim")

	repl.openTPM() // the replacement host boots again
	repl.bootOS(emuhost.Good)
	repl.enroll(token)
	repl.attestHonestly()
}

// pendingEK is the EK change host waits with, as the API shows it.
func pendingEK(t *testing.T, f *fleet, host string) api.PendingEK {
	t.Helper()
	h, err := f.get(host)
	if err != nil {
		t.Fatal(err)
	}
	if h.PendingEKInfo == nil || !h.PendingEK {
		t.Fatalf("%s has no pending EK change", host)
	}
	return *h.PendingEKInfo
}

// tryEnroll runs the enrolment protocol with token, edit changing the
// first message (nil: as the honest agent sends it), and answers the
// challenge with whatever this TPM can recover (a guess when it cannot).
// It returns the verifier's two answers; activate's is zero when enrol
// gave no challenge.
func (e *evil) tryEnroll(token string, edit func(*wire.EnrollRequest)) (enrol, activate answer) {
	e.t.Helper()
	req, _ := e.enrollRequest(token)
	if edit != nil {
		edit(&req)
	}
	anon := e.client(nil)
	var ans wire.EnrollAnswer
	if enrol = e.call(anon, "POST", "/agent/v1/enroll", req, &ans); enrol.Status != 200 || ans.Challenge == nil {
		return enrol, answer{}
	}
	secret, err := e.dev.ActivateCredential(e.ak, ans.Challenge.CredentialBlob, ans.Challenge.EncryptedSeed)
	if err != nil {
		secret = make([]byte, 32) // this TPM cannot recover it: guess
	}
	return enrol, e.call(anon, "POST", "/agent/v1/activate", wire.ActivateRequest{ChallengeID: ans.Challenge.ChallengeID, Secret: secret}, nil)
}

// TestRefusedEnrolmentKeepsJoinToken: enrolments refused with a join token
// (an EK certified by a maker the verifier does not trust, no EK
// certificate, a failed credential activation) do not spend it: the genuine
// host then enrols with it. A token that enrolled a host once is refused
// after, and two challenges taken with one token enrol once.
func TestRefusedEnrolmentKeepsJoinToken(t *testing.T) {
	f := newFleet(t)
	token := f.joinToken("newbie", "10m")
	e := f.newEvil(t, "newbie", emuhost.Good, 0)
	rogue, err := makerca.LoadOrCreate(filepath.Join(f.dir, "rogue-maker"))
	if err != nil {
		t.Fatal(err)
	}
	ekPub, _, err := e.dev.EK()
	if err != nil {
		t.Fatal(err)
	}
	rogueCert, err := rogue.IssueEKCert(ekPublicKey(t, ekPub), "newbie")
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		edit func(*wire.EnrollRequest)
	}{
		{"EK certificate of an untrusted maker", func(r *wire.EnrollRequest) { r.EKCert = rogueCert }},
		{"no EK certificate and an EK not pinned", func(r *wire.EnrollRequest) { r.EKCert = nil }},
	} {
		if en, _ := e.tryEnroll(token, tt.edit); en.Status != 403 || en.Err.Code != "enroll.ek_untrusted" {
			t.Errorf("%s: %v, want 403 enroll.ek_untrusted", tt.name, en)
		}
	}
	if act := e.activateWith(token, make([]byte, 32)); act.Status != 403 || act.Err.Code != "enroll.activation_failed" {
		t.Errorf("wrong activation secret: %v, want 403 enroll.activation_failed", act)
	}
	assertNotEnrolled(t, f, "newbie")
	e.enroll(token) // fails the test when the token was spent
	e.attestHonestly()
	if en, _ := e.tryEnroll(token, nil); en.Status != 401 || en.Err.Code != "enroll.join_token_used" {
		t.Errorf("the token enrolled newbie, then again: %v, want 401 enroll.join_token_used", en)
	}

	// Two challenges taken with one token before either is answered.
	e.closeTPM()
	racer := f.newEvil(t, "racer", emuhost.Good, 0)
	token = f.joinToken("racer", "10m")
	var answers []answer
	for _, ch := range []*wire.EnrollChallenge{racer.challenge(token), racer.challenge(token)} {
		secret, err := racer.dev.ActivateCredential(racer.ak, ch.CredentialBlob, ch.EncryptedSeed)
		if err != nil {
			t.Fatal(err)
		}
		answers = append(answers, racer.call(racer.client(nil), "POST", "/agent/v1/activate",
			wire.ActivateRequest{ChallengeID: ch.ChallengeID, Secret: secret}, nil))
	}
	if answers[0].Status != 200 || answers[1].Status != 401 || answers[1].Err.Code != "enroll.join_token_used" {
		t.Errorf("two activations with one token: %v and %v, want 200, then 401 enroll.join_token_used", answers[0], answers[1])
	}
}

// challenge sends this TPM's honest enrolment request with token and
// returns the verifier's credential challenge.
func (e *evil) challenge(token string) *wire.EnrollChallenge {
	e.t.Helper()
	req, _ := e.enrollRequest(token)
	var ans wire.EnrollAnswer
	if a := e.call(e.client(nil), "POST", "/agent/v1/enroll", req, &ans); a.Status != 200 || ans.Challenge == nil {
		e.t.Fatalf("enrol %s: %v, want a challenge", e.name, a)
	}
	return ans.Challenge
}

// activateWith answers a fresh challenge with secret instead of what the
// TPM recovers.
func (e *evil) activateWith(token string, secret []byte) answer {
	e.t.Helper()
	ch := e.challenge(token)
	return e.call(e.client(nil), "POST", "/agent/v1/activate", wire.ActivateRequest{ChallengeID: ch.ChallengeID, Secret: secret}, nil)
}

// ekPublicKey is the public key of an EK public area (TPMT_PUBLIC).
func ekPublicKey(t *testing.T, ekPub []byte) crypto.PublicKey {
	t.Helper()
	pub, err := tpm2.Unmarshal[tpm2.TPMTPublic](ekPub)
	if err != nil {
		t.Fatal(err)
	}
	key, err := tpm2.Pub(*pub)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

package e2e

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"errors"
	"io"
	"math/big"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/bootproof/bootproof/internal/client"
	"github.com/bootproof/bootproof/internal/emuhost"
	"github.com/bootproof/bootproof/internal/wire"
)

// TestEnrolmentProtocolAttacks attacks credential activation and agent
// identity with real TPMs.
func TestEnrolmentProtocolAttacks(t *testing.T) {
	f := newFleet(t)

	t.Run("the challenge answer does not leak the secret (Keylime CVE-2023-38201)", func(t *testing.T) {
		e := f.newEvil(t, "leak", emuhost.Good, 0)
		req, _ := e.enrollRequest(f.joinToken("leak", "10m"))
		var ans wire.EnrollAnswer
		a := e.call(e.client(nil), "POST", "/agent/v1/enroll", req, &ans)
		if a.Status != 200 || ans.Challenge == nil {
			t.Fatalf("enrol: %v", a)
		}
		secret, err := e.dev.ActivateCredential(e.ak, ans.Challenge.CredentialBlob, ans.Challenge.EncryptedSeed)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(a.Body, secret) || bytes.Contains(a.Body, []byte(base64.StdEncoding.EncodeToString(secret))) {
			t.Fatal("the enrolment answer carries the activation secret")
		}
		wrong := bytes.Clone(secret)
		wrong[0] ^= 1
		if a := e.call(e.client(nil), "POST", "/agent/v1/activate", wire.ActivateRequest{ChallengeID: ans.Challenge.ChallengeID, Secret: wrong}, nil); a.Status != 403 || a.Err.Code != "enroll.activation_failed" {
			t.Fatalf("wrong secret: %v, want 403 enroll.activation_failed", a)
		}
		if bytes.Contains(a.Body, secret) || bytes.Contains(a.Body, []byte(base64.StdEncoding.EncodeToString(secret))) {
			t.Fatal("the refusal carries the expected secret")
		}
		// One guess per challenge: the right secret now is too late.
		if a := e.call(e.client(nil), "POST", "/agent/v1/activate", wire.ActivateRequest{ChallengeID: ans.Challenge.ChallengeID, Secret: secret}, nil); a.Status/100 != 4 {
			t.Fatalf("second answer to a failed challenge: %v, want refused", a)
		}
		assertNotEnrolled(t, f, "leak")
	})

	t.Run("AK of another TPM presented with this TPM's EK", func(t *testing.T) {
		// The attacker's own TPM (or software) holds the AK; the EK is a
		// genuine, certified one. Only the EK's TPM can open the
		// challenge, and it refuses an AK it does not hold.
		other := &evil{t: t, f: f, name: "ak-owner", seed: 991}
		other.openTPM()
		other.bootOS(emuhost.Good)
		otherReq, _ := other.enrollRequest("")
		other.closeTPM() // one simulator per process
		e := f.newEvil(t, "ak-swap", emuhost.Good, 0)
		req, _ := e.enrollRequest(f.joinToken("ak-swap", "10m"))
		req.AKPublic = otherReq.AKPublic
		var ans wire.EnrollAnswer
		if a := e.call(e.client(nil), "POST", "/agent/v1/enroll", req, &ans); a.Status != 200 || ans.Challenge == nil {
			t.Fatalf("enrol: %v", a)
		}
		if _, err := e.dev.ActivateCredential(e.ak, ans.Challenge.CredentialBlob, ans.Challenge.EncryptedSeed); err == nil {
			t.Fatal("the EK's TPM activated a credential made for another TPM's AK")
		}
		guess := make([]byte, 32)
		if a := e.call(e.client(nil), "POST", "/agent/v1/activate", wire.ActivateRequest{ChallengeID: ans.Challenge.ChallengeID, Secret: guess}, nil); a.Status != 403 || a.Err.Code != "enroll.activation_failed" {
			t.Fatalf("guessed secret: %v, want 403 enroll.activation_failed", a)
		}
		assertNotEnrolled(t, f, "ak-swap")
	})

	t.Run("agent routes without, or with a forged, client certificate (CVE-2026-1709)", func(t *testing.T) {
		e := f.newEvil(t, "victim-c", emuhost.Good, 0)
		e.enroll(f.joinToken("victim-c", "10m"))
		e.attestHonestly()
		e.closeTPM()
		for _, path := range []string{"GET /agent/v1/nonce", "POST /agent/v1/evidence", "GET /agent/v1/wait?timeout=10"} {
			method, p, _ := strings.Cut(path, " ")
			if a := e.call(e.client(nil), method, p, struct{}{}, nil); a.Status != 401 || a.Err.Code != "agent_certificate_required" {
				t.Errorf("%s with no client certificate: %v, want 401 agent_certificate_required", path, a)
			}
		}
		forged := forgedClientCert(t, "victim-c")
		// Sent whatever CAs the server asks for (Go's client would
		// otherwise hold back a certificate of an unrequested issuer).
		hc := e.client(nil)
		tc := hc.Transport.(*http.Transport).TLSClientConfig
		tc.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &forged, nil }
		resp, err := hc.Get(f.url + "/agent/v1/nonce")
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			t.Errorf("a client certificate the verifier never issued was accepted: %d %s", resp.StatusCode, body)
		}
	})

	t.Run("host impersonating another with its own identity", func(t *testing.T) {
		a := f.newEvil(t, "imp-a", emuhost.Good, 0)
		a.enroll(f.joinToken("imp-a", "10m"))
		a.closeTPM()
		b := f.newEvil(t, "imp-b", emuhost.Good, 0)
		b.enroll(f.joinToken("imp-b", "10m"))
		b.attestHonestly()
		nb := b.nonce()
		b.closeTPM()
		before, _ := f.get("imp-b")
		// a answers b's nonce with its own client certificate.
		ans, _ := a.submit(&wire.Evidence{Nonce: nb, TPMFamily: wire.FamilyTPM20})
		if ans.Status != 403 || ans.Err.Code != "nonce.other_host" {
			t.Errorf("evidence for another host's nonce: %v, want 403 nonce.other_host", ans)
		}
		after, _ := f.get("imp-b")
		if !sameTime(before.LastAttested, after.LastAttested) || after.Status != before.Status {
			t.Error("imp-b's record changed through imp-a's submission")
		}
		// The same name enrolled again from another TPM is held for approval
		// once that TPM has proved itself by credential activation.
		c := &evil{t: t, f: f, name: "imp-b", seed: 4243}
		c.openTPM()
		defer c.closeTPM()
		if _, r := c.tryEnroll(f.joinToken("", "10m"), nil); r.Status != 409 || r.Err.Code != "enroll.ek_changed" {
			t.Errorf("another TPM enrolling as imp-b: activation answered %v, want 409 enroll.ek_changed", r)
		}
		if h, _ := f.get("imp-b"); h.EKSHA256 != before.EKSHA256 {
			t.Error("imp-b's EK was replaced without an operator")
		}
	})

	t.Run("removed host's client certificate", func(t *testing.T) {
		e := f.newEvil(t, "gone", emuhost.Good, 0)
		e.enroll(f.joinToken("gone", "10m"))
		e.closeTPM()
		if err := f.admin.Do(context.Background(), "DELETE", "/api/v1/hosts/gone", nil, nil); err != nil {
			t.Fatal(err)
		}
		if a := e.call(e.http, "GET", "/agent/v1/nonce", nil, nil); a.Status != 403 || a.Err.Code != "host_unknown" {
			t.Errorf("nonce with a removed host's certificate: %v, want 403 host_unknown", a)
		}
	})
}

func assertNotEnrolled(t *testing.T, f *fleet, name string) {
	t.Helper()
	var e *client.APIError
	if _, err := f.get(name); !errors.As(err, &e) || e.Status != 404 {
		t.Errorf("%s was enrolled: %v", name, err)
	}
}

// forgedClientCert is a client certificate for host, issued by a CA the
// attacker made.
func forgedClientCert(t *testing.T, host string) tls.Certificate {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: host},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: k}
}

// TestBootChainAttacks boots each attack profile as its own host process
// (its own TPM) against references learned from a good host: each ends
// Failed with the reason that names what ran.
func TestBootChainAttacks(t *testing.T) {
	f := newFleet(t)
	good := f.host("ref", "good", f.joinToken("ref", "10m"), "--once")
	<-good.done
	if err := f.admin.Do(context.Background(), "POST", "/api/v1/groups/lab/learn", map[string]string{"host": "ref"}, nil); err != nil {
		t.Fatalf("learn references: %v", err)
	}
	tests := []struct {
		profile, want string
	}{
		{"old-kernel", "reference.kernel"},           // an older kernel, genuinely signed
		{"tampered-kernel", "reference.kernel"},      // an unknown kernel (Secure Boot off)
		{"rogue-bootloader", "reference.bootloader"}, // a boot loader signed by a key not in db
		{"unsigned-bundle", "bundle.signature"},      // a bundle of no trusted vendor
		{"community-bundle", "bundle.acceptance"},    // a bundle below the group's level
		{"secureboot-off", "secureboot.disabled"},    // the good chain, Secure Boot off
	}
	procs := map[string]*proc{}
	for _, tt := range tests {
		procs[tt.profile] = f.host("p-"+tt.profile, tt.profile, f.joinToken("p-"+tt.profile, "10m"), "--once")
	}
	for _, tt := range tests {
		t.Run(tt.profile, func(t *testing.T) {
			select {
			case <-procs[tt.profile].done:
			case <-time.After(60 * time.Second):
				t.Fatal("host did not finish its attestation")
			}
			h, err := f.get("p-" + tt.profile)
			if err != nil {
				t.Fatal(err)
			}
			if h.Status != "Failed" || h.ReasonCode != tt.want {
				t.Errorf("%s is %s (%s: %s), want Failed (%s)", tt.profile, h.Status, h.ReasonCode, h.Reason, tt.want)
			}
		})
	}
	if h, _ := f.get("ref"); h.Status != "Passed" {
		t.Errorf("the reference host is %s (%s)", h.Status, h.ReasonCode)
	}
}

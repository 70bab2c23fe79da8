package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/pem"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bootproof/bootproof/internal/api"
	"github.com/bootproof/bootproof/internal/auth"
	"github.com/bootproof/bootproof/internal/emuhost"
	"github.com/bootproof/bootproof/internal/emurun"
	"github.com/bootproof/bootproof/internal/eventlog"
	"github.com/bootproof/bootproof/internal/policy"
	"github.com/bootproof/bootproof/internal/server/servertest"
)

// attestedVerifier runs a verifier in the test with one emulated good host,
// name, that enrolled and attested once, and returns the verifier and the
// client flags that reach it with a viewer token.
func attestedVerifier(t *testing.T, name string) (*servertest.Env, []string) {
	t.Helper()
	if testing.Short() {
		t.Skip("cli: boots an emulated host against a verifier; skipped with -short")
	}
	env := servertest.Start(t)
	ctx := context.Background()
	vendors, err := emuhost.DefaultVendors()
	if err != nil {
		t.Fatal(err)
	}
	// Trust the emulated vendor, as an operator does, so the host passes.
	p := policy.Default()
	for _, c := range vendors.TrustedBundleRoots() {
		p.Bundles.TrustedRoots = append(p.Bundles.TrustedRoots, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})))
	}
	if err := env.Server.Verifier.PutPolicy(ctx, "test", "lab", p); err != nil {
		t.Fatal(err)
	}
	jt, _, err := env.Server.Verifier.CreateJoinToken(ctx, "test", "lab", name, 10*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	if err := emurun.Run(runCtx, emurun.Config{Name: name, Profile: emuhost.Good, MakerCADir: env.MakerCADir,
		VerifierURL: env.URL, CAPEM: env.CAPEM, StateDir: filepath.Join(t.TempDir(), name), JoinToken: jt, Once: true}); err != nil {
		t.Fatalf("host %s: %v", name, err)
	}
	ca := writeTestFile(t, filepath.Join(t.TempDir(), "ca.pem"), env.CAPEM)
	return env, []string{"--url", env.URL, "--token", env.Token(auth.Viewer), "--ca", ca}
}

// TestHostsEvidence: `bootproof hosts evidence` writes the evidence the
// verifier judged as the files an auditor's tools read, and they replay.
func TestHostsEvidence(t *testing.T) {
	const name = "esx-audit"
	env, conn := attestedVerifier(t, name)
	dir := filepath.Join(t.TempDir(), "evidence")
	out := mustRun(t, append([]string{"hosts", "evidence", name, "--out", dir}, conn...)...)
	if !strings.Contains(out, "evidence of "+name) || !strings.Contains(out, dir) {
		t.Errorf("output %q", out)
	}

	se, err := env.Server.Verifier.LatestEvidence(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	ev := se.Evidence
	h, err := env.Server.Store.GetHost(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	read := func(rel string) []byte {
		t.Helper()
		b, err := os.ReadFile(filepath.Join(dir, rel))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	var he api.HostEvidence
	if err := json.Unmarshal(read("evidence.json"), &he); err != nil {
		t.Fatalf("evidence.json: %v", err)
	}
	served, _ := json.Marshal(he.Evidence)
	stored, _ := json.Marshal(ev)
	if he.Host != name || !bytes.Equal(served, stored) {
		t.Errorf("evidence.json is not the verifier's latest evidence of %s", name)
	}
	if !bytes.Equal(se.AKPublic, h.AKPublic) {
		t.Errorf("the verifier recorded the evidence with an AK other than the enrolled one")
	}
	want := map[string][]byte{"eventlog.bin": ev.EventLog, "ak.pub": h.AKPublic, "nonce.bin": ev.Nonce}
	for i, q := range ev.Quotes {
		want["quote-"+strconv.Itoa(i)+".attest"], want["quote-"+strconv.Itoa(i)+".sig"] = q.Attest, q.Signature
	}
	for i, b := range ev.Bundles {
		want[filepath.Join("bundles", strconv.Itoa(i)+".bundle")] = b
	}
	if len(ev.Quotes) == 0 || len(ev.Bundles) == 0 {
		t.Fatalf("the host sent %d quotes and %d bundles; the test wants some of each", len(ev.Quotes), len(ev.Bundles))
	}
	for rel, data := range want {
		if !bytes.Equal(read(rel), data) {
			t.Errorf("%s differs from the evidence", rel)
		}
	}

	// pcrs.json holds the quoted values, in the form `bootproof evidence`
	// writes, and eventlog.bin replays to them in every bank.
	pcrs, err := eventlog.ParsePCRValues(read("pcrs.json"))
	if err != nil {
		t.Fatalf("pcrs.json: %v", err)
	}
	l, err := eventlog.Parse(read("eventlog.bin"))
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range ev.Quotes {
		for bank, vals := range q.PCRs {
			alg, err := eventlog.ParseAlg(bank)
			if err != nil {
				t.Fatal(err)
			}
			for i, v := range vals {
				if !bytes.Equal(pcrs[alg][i], v) {
					t.Errorf("pcrs.json %s PCR %d is %x, quoted %x", bank, i, pcrs[alg][i], v)
				}
			}
			if _, err := l.Verified(alg, pcrs[alg]); err != nil {
				t.Errorf("eventlog.bin does not replay to pcrs.json in %s: %v", bank, err)
			}
		}
	}

	// The files fit bootproof's own replay, as the docs say.
	mustRun(t, "eventlog", "replay", filepath.Join(dir, "eventlog.bin"), "--pcrs", filepath.Join(dir, "pcrs.json"))

	// A second fetch into the same directory is refused: no mixing.
	if code, _, errs := runBootproof(t, append([]string{"hosts", "evidence", name, "--out", dir}, conn...)...); code != 1 || !strings.Contains(errs, "not empty") {
		t.Errorf("fetch into a used directory: exit %d %q, want a refusal", code, errs)
	}
	if code, _, errs := runBootproof(t, append([]string{"hosts", "evidence", "no-such-host", "--out", t.TempDir()}, conn...)...); code != 1 || !strings.Contains(errs, "host.not_found") {
		t.Errorf("unknown host: exit %d %q, want host.not_found", code, errs)
	}
	if code, _, errs := runBootproof(t, append([]string{"hosts", "evidence", name}, conn...)...); code != 1 || !strings.Contains(errs, "--out") {
		t.Errorf("no --out: exit %d %q, want a refusal naming --out", code, errs)
	}
}

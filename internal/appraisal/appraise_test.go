package appraisal

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/bootproof/bootproof/internal/bundle"
	"github.com/bootproof/bootproof/internal/eventlog"
	"github.com/bootproof/bootproof/internal/policy"
	"github.com/bootproof/bootproof/internal/wire"
)

// failedCodes lists a verdict's failed check codes, sorted and unique.
func failedCodes(v *Verdict) []string {
	var out []string
	for _, c := range v.Failures() {
		if !slices.Contains(out, c.Code) {
			out = append(out, c.Code)
		}
	}
	sort.Strings(out)
	return out
}

func findCheck(v *Verdict, code string) *Check {
	for i := range v.Checks {
		if v.Checks[i].Code == code && !v.Checks[i].Passed {
			return &v.Checks[i]
		}
	}
	return nil
}

// appraisalCase is one host and what the verifier must say of it.
type appraisalCase struct {
	name string
	boot bootOpts
	// banks the log declares (testBanks by default).
	banks []eventlog.Alg
	// evidence builds what the agent sends; nil sends honest evidence.
	evidence func(h *simHost) *wire.Evidence
	// enrolled is the AK the verifier enrolled (akECC by default).
	enrolled akKind
	// policy adjusts the golden policy.
	policy func(p *policy.Policy)
	// last gives the last accepted clock from this quote's clock.
	last func(c ClockInfo) *ClockInfo
	want Status
	// wantFailed are the failed check codes, sorted.
	wantFailed []string
	// check inspects the verdict further.
	check func(t *testing.T, v *Verdict)
}

func runCases(t *testing.T, cases []appraisalCase) {
	t.Helper()
	golden := goldenPolicy(t)
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			banks := tt.banks
			if banks == nil {
				banks = testBanks
			}
			h := boot(t, banks, standardBoot(t, tt.boot))
			var ev *wire.Evidence
			if tt.evidence != nil {
				ev = tt.evidence(h)
			} else {
				ev = h.evidence(nil)
			}
			p := golden.Clone()
			if tt.policy != nil {
				tt.policy(p)
			}
			in := Input{Evidence: ev, AKPublic: h.akPublic(tt.enrolled), Nonce: testNonce, Policy: p, Now: testNow}
			if tt.last != nil && len(ev.Quotes) > 0 {
				att, err := ParseAttest(ev.Quotes[0].Attest)
				if err != nil {
					t.Fatal(err)
				}
				in.Last = tt.last(ClockInfo{Clock: att.Clock, ResetCount: att.ResetCount, RestartCount: att.RestartCount})
			}
			v, err := Appraise(in)
			if err != nil {
				t.Fatalf("Appraise() error: %v", err)
			}
			if v.Status != tt.want {
				t.Errorf("Status = %s, want %s; failures: %+v", v.Status, tt.want, v.Failures())
			}
			if diff := cmp.Diff(tt.wantFailed, failedCodes(v)); diff != "" {
				t.Errorf("failed checks mismatch (-want +got):\n%s\nfailures: %+v", diff, v.Failures())
			}
			for _, c := range v.Checks {
				if c.Message == "" || !strings.HasSuffix(c.Message, ".") {
					t.Errorf("check %s has no sentence: %q", c.Code, c.Message)
				}
			}
			if tt.check != nil {
				tt.check(t, v)
			}
		})
	}
}

var sb = bootOpts{secureBoot: true}

func TestAppraiseQuotes(t *testing.T) {
	runCases(t, []appraisalCase{
		{name: "honest host passes", boot: sb, want: Passed, check: func(t *testing.T, v *Verdict) {
			if v.Clock == nil || v.Bank != "sha256" || v.SecureBoot == nil || !v.SecureBoot.Enabled {
				t.Errorf("verdict lacks clock, bank or Secure Boot state: %+v", v)
			}
			if len(v.PCRs["sha1"]) != 10 || len(v.PCRs["sha256"]) != 10 {
				t.Errorf("PCRs = %v, want PCR 0-9 of sha1 and sha256", v.PCRs)
			}
		}},
		{name: "RSA AK", boot: sb, enrolled: akRSA, want: Passed, evidence: func(h *simHost) *wire.Evidence {
			ev := h.evidence(nil)
			for i, b := range h.banks {
				ev.Quotes[i] = h.quote(akRSA, b, pcrRange(0, 9), testNonce)
			}
			return ev
		}},
		{name: "three banks: decisions use SHA-384", boot: sb, banks: simBanks, want: Passed,
			policy: func(p *policy.Policy) { p.References = policy.References{} },
			check: func(t *testing.T, v *Verdict) {
				if v.Bank != "sha384" || len(v.PCRs) != 3 {
					t.Errorf("bank %q, PCR banks %d; want sha384 of 3", v.Bank, len(v.PCRs))
				}
				for _, c := range v.Components {
					if len(c.Digests) != 3 {
						t.Errorf("component %q has digests in %d banks, want 3", c.Name, len(c.Digests))
					}
				}
			}},
		{name: "golden references (SHA-1, SHA-256) match a SHA-384 decision", boot: sb, banks: simBanks, want: Passed},
		{name: "a quoted bank the log lacks is not used", boot: sb, want: Passed,
			evidence: func(h *simHost) *wire.Evidence {
				ev := h.evidence(nil)
				ev.Quotes = append(ev.Quotes, h.quote(akECC, eventlog.SHA384, pcrRange(0, 3), testNonce))
				return ev
			},
			check: func(t *testing.T, v *Verdict) {
				if v.Bank != "sha256" {
					t.Errorf("decisions use %s, want sha256: the log has no sha384 digests", v.Bank)
				}
			}},
		{name: "wrong nonce", boot: sb, want: Failed, wantFailed: []string{CodeQuoteMissingBank, CodeQuoteNonce},
			evidence: func(h *simHost) *wire.Evidence {
				ev := h.evidence(nil)
				ev.Quotes[1] = h.quote(akECC, eventlog.SHA256, pcrRange(0, 9), []byte("an older nonce"))
				return ev
			}},
		{name: "quote by another key", boot: sb, want: Failed, wantFailed: []string{CodeQuoteSignature},
			evidence: func(h *simHost) *wire.Evidence {
				ev := h.evidence(nil)
				ev.Quotes[0] = h.quote(akOtherECC, eventlog.SHA1, pcrRange(0, 9), testNonce)
				ev.Quotes[1] = h.quote(akOtherECC, eventlog.SHA256, pcrRange(0, 9), testNonce)
				return ev
			},
			check: func(t *testing.T, v *Verdict) {
				if v.Clock != nil || v.PCRs != nil {
					t.Errorf("a quote by another key leaked clock %v or PCRs %v", v.Clock, v.PCRs)
				}
			}},
		{name: "PCR values that do not match the quote", boot: sb, want: Failed, wantFailed: []string{CodeQuoteMissingBank, CodeQuotePCRDigest},
			evidence: func(h *simHost) *wire.Evidence {
				ev := h.evidence(nil)
				ev.Quotes[1].PCRs["sha256"][7] = flip(ev.Quotes[1].PCRs["sha256"][7])
				return ev
			}},
		{name: "PCR value of a quoted PCR missing", boot: sb, want: Failed, wantFailed: []string{CodeQuoteMissingBank, CodeQuotePCRDigest},
			evidence: func(h *simHost) *wire.Evidence {
				ev := h.evidence(nil)
				delete(ev.Quotes[1].PCRs["sha256"], 4)
				return ev
			}},
		{name: "replayed old quote: clock went back", boot: sb, want: Failed, wantFailed: []string{CodeQuoteClock},
			last: func(c ClockInfo) *ClockInfo { c.Clock += 60_000; return &c }},
		{name: "reset count went back", boot: sb, want: Failed, wantFailed: []string{CodeQuoteReset},
			last: func(c ClockInfo) *ClockInfo { c.ResetCount++; c.Clock = 0; return &c }},
		{name: "restart count went back", boot: sb, want: Failed, wantFailed: []string{CodeQuoteReset},
			last: func(c ClockInfo) *ClockInfo { c.RestartCount++; return &c }},
		{name: "later quote of the same boot passes", boot: sb, want: Passed,
			last: func(c ClockInfo) *ClockInfo { c.Clock -= 1; return &c }},
		{name: "only SHA-1 offered while the log declares SHA-256", boot: sb, want: Failed, wantFailed: []string{CodeQuoteMissingBank},
			evidence: func(h *simHost) *wire.Evidence {
				ev := h.evidence(nil)
				ev.Quotes = ev.Quotes[:1]
				return ev
			},
			check: func(t *testing.T, v *Verdict) {
				if len(v.Components) != 0 || v.SecureBoot != nil {
					t.Errorf("SHA-1 alone fed decisions: components %v, Secure Boot %v", v.Components, v.SecureBoot)
				}
			}},
		{name: "two quotes for one bank", boot: sb, want: Failed, wantFailed: []string{CodeQuotePCRSelection},
			evidence: func(h *simHost) *wire.Evidence {
				ev := h.evidence(nil)
				ev.Quotes = append(ev.Quotes, ev.Quotes[1])
				return ev
			}},
		// The unquoted events are not used, so what the policy pins is missing.
		{name: "quote over only some PCRs (CVE-2022-0317)", boot: sb, want: Failed,
			wantFailed: []string{CodeQuotePCRSelection, CodeRefBootOptions, CodeRefBootloader, CodeRefInitrd, CodeRefKernel, CodeSecureBootDisabled},
			evidence:   func(h *simHost) *wire.Evidence { return h.evidence(pcrRange(0, 3)) },
			check: func(t *testing.T, v *Verdict) {
				for _, c := range v.Components {
					if c.PCR > 3 {
						t.Errorf("component %q of unquoted PCR %d was used", c.Name, c.PCR)
					}
				}
			}},
		{name: "quote over no PCR", boot: sb, want: Failed, wantFailed: []string{CodeQuoteMissingBank, CodeQuotePCRSelection},
			evidence: func(h *simHost) *wire.Evidence {
				ev := h.evidence(nil)
				ev.Quotes[1] = h.quote(akECC, eventlog.SHA256, nil, testNonce)
				return ev
			}},
		{name: "not a quote at all", boot: sb, want: Failed, wantFailed: []string{CodeQuoteMissingBank, CodeQuoteSignature},
			evidence: func(h *simHost) *wire.Evidence {
				ev := h.evidence(nil)
				ev.Quotes[1].Attest = []byte("hello")
				return ev
			}},
		{name: "no quotes", boot: sb, want: Failed, wantFailed: []string{CodeQuoteMissingBank},
			evidence: func(h *simHost) *wire.Evidence {
				ev := h.evidence(nil)
				ev.Quotes = nil
				return ev
			}},
	})
}

// TestAppraiseOneQuoteOverAllBanks covers the agent's usual evidence: one
// TPM2_Quote whose selection spans every bank, its pcrDigest over all of
// them in selection order.
func TestAppraiseOneQuoteOverAllBanks(t *testing.T) {
	one := func(mutate func(q *wire.Quote)) func(h *simHost) *wire.Evidence {
		return func(h *simHost) *wire.Evidence {
			ev := h.evidence(nil)
			q := h.quoteBanks(akECC, h.banks, pcrRange(0, 9), testNonce)
			if mutate != nil {
				mutate(&q)
			}
			ev.Quotes = []wire.Quote{q}
			return ev
		}
	}
	runCases(t, []appraisalCase{
		{name: "one quote over SHA-1 and SHA-256 passes", boot: sb, want: Passed, evidence: one(nil),
			check: func(t *testing.T, v *Verdict) {
				if v.Bank != "sha256" || len(v.PCRs["sha1"]) != 10 || len(v.PCRs["sha256"]) != 10 {
					t.Errorf("bank %q, PCRs %v; want decisions on sha256 and PCR 0-9 of both banks", v.Bank, v.PCRs)
				}
			}},
		{name: "one quote over three banks passes", boot: sb, banks: simBanks, want: Passed, evidence: one(nil),
			policy: func(p *policy.Policy) { p.References = policy.References{} },
			check: func(t *testing.T, v *Verdict) {
				if v.Bank != "sha384" || len(v.PCRs) != 3 {
					t.Errorf("bank %q, PCR banks %d; want sha384 of 3", v.Bank, len(v.PCRs))
				}
			}},
		// The digest covers both banks: a value changed in the weaker bank
		// fails the whole quote, not just that bank.
		{name: "a SHA-1 value altered fails the whole quote", boot: sb, want: Failed,
			wantFailed: []string{CodeQuotePCRDigest},
			evidence:   one(func(q *wire.Quote) { q.PCRs["sha1"][7] = flip(q.PCRs["sha1"][7]) }),
			check: func(t *testing.T, v *Verdict) {
				if c := findCheck(v, CodeQuotePCRDigest); c == nil || c.Bank != "sha1+sha256" {
					t.Errorf("pcr_digest check names bank %+v, want sha1+sha256", c)
				}
				if v.PCRs != nil {
					t.Errorf("PCRs of a failed quote were used: %v", v.PCRs)
				}
			}},
		{name: "values of one selected bank not sent", boot: sb, want: Failed,
			wantFailed: []string{CodeQuotePCRDigest},
			evidence:   one(func(q *wire.Quote) { delete(q.PCRs, "sha1") })},
		// Values sent under the wrong bank name do not hash to the digest.
		{name: "banks' values swapped", boot: sb, want: Failed,
			wantFailed: []string{CodeQuotePCRDigest},
			evidence: one(func(q *wire.Quote) {
				q.PCRs["sha1"], q.PCRs["sha256"] = q.PCRs["sha256"], q.PCRs["sha1"]
			})},
		{name: "a bank quoted again in a second quote", boot: sb, want: Failed, wantFailed: []string{CodeQuotePCRSelection},
			evidence: func(h *simHost) *wire.Evidence {
				ev := one(nil)(h)
				ev.Quotes = append(ev.Quotes, h.quote(akECC, eventlog.SHA256, pcrRange(0, 9), testNonce))
				return ev
			}},
		{name: "one quote over all banks with a wrong nonce", boot: sb, want: Failed,
			wantFailed: []string{CodeQuoteNonce},
			evidence: func(h *simHost) *wire.Evidence {
				ev := h.evidence(nil)
				ev.Quotes = []wire.Quote{h.quoteBanks(akECC, h.banks, pcrRange(0, 9), []byte("an older nonce"))}
				return ev
			}},
	})
}

func TestAppraiseEventLog(t *testing.T) {
	unloggedPCR14 := bootOpts{secureBoot: true, extra: []measurement{{pcr: 14, typ: eventlog.EvIPL, data: []byte("MokList"), unlogged: true}}}
	runCases(t, []appraisalCase{
		{name: "log edited after the fact", want: Failed, wantFailed: []string{CodeEventLogReplay},
			boot: bootOpts{secureBoot: true, extra: []measurement{{pcr: 9, typ: eventlog.EvIPL, data: []byte("/boot/x\x00"),
				logDigests: map[eventlog.Alg][]byte{eventlog.SHA1: make([]byte, 20), eventlog.SHA256: make([]byte, 32)}}}},
			check: func(t *testing.T, v *Verdict) {
				c := findCheck(v, CodeEventLogReplay)
				if c == nil || c.PCR == nil || *c.PCR != 9 || len(c.Expected) != 1 || c.Found == "" {
					t.Errorf("replay failure lacks PCR 9 and values: %+v", c)
				}
			}},
		{name: "events appended after the quoted state", want: Failed, wantFailed: []string{CodeEventLogReplay},
			boot: bootOpts{secureBoot: true, extra: []measurement{{pcr: 9, typ: eventlog.EvIPL, data: []byte("/boot/late.ko\x00"), logOnly: true}}}},
		{name: "events appended in an unquoted PCR", want: Failed, wantFailed: []string{CodeQuotePCRSelection},
			boot: bootOpts{secureBoot: true, extra: []measurement{{pcr: 15, typ: eventlog.EvIPL, data: []byte("/boot/vmlinuz-evil\x00"), logOnly: true}}},
			check: func(t *testing.T, v *Verdict) {
				for _, c := range v.Components {
					if c.PCR == 15 {
						t.Errorf("event of unquoted PCR 15 was used: %+v", c)
					}
				}
			}},
		{name: "SHA-1 digests replay but SHA-256 do not", want: Failed, wantFailed: []string{CodeEventLogReplay},
			boot: bootOpts{secureBoot: true, extra: []measurement{{pcr: 9, typ: eventlog.EvIPL, data: []byte("/boot/x\x00"),
				logDigests: map[eventlog.Alg][]byte{eventlog.SHA256: make([]byte, 32)}}}},
			check: func(t *testing.T, v *Verdict) {
				if c := findCheck(v, CodeEventLogReplay); c == nil || c.Bank != "sha256" {
					t.Errorf("replay failure not in sha256: %+v", c)
				}
				if len(v.Components) != 0 {
					t.Errorf("components taken from a bank that did not replay: %v", v.Components)
				}
			}},
		{name: "quoted PCR holds a value but has no events", boot: unloggedPCR14, want: Failed, wantFailed: []string{CodeEventLogReplay},
			evidence: func(h *simHost) *wire.Evidence { return h.evidence(append(pcrRange(0, 9), 14)) }},
		{name: "ignored PCR holds a value without events", boot: unloggedPCR14, want: Passed,
			evidence: func(h *simHost) *wire.Evidence { return h.evidence(append(pcrRange(0, 9), 14)) },
			policy:   func(p *policy.Policy) { p.PCRsIgnore = []int{14} }},
		{name: "empty log and untouched PCRs: nothing shows Secure Boot", want: Failed,
			wantFailed: []string{CodeRefBootOptions, CodeRefBootloader, CodeRefFirmware, CodeRefInitrd, CodeRefKernel, CodeSecureBootDisabled},
			evidence: func(h *simHost) *wire.Evidence {
				empty := boot(t, testBanks, nil)
				return empty.evidence(nil)
			},
			check: func(t *testing.T, v *Verdict) {
				if c := findCheck(v, CodeSecureBootDisabled); c == nil || c.Found != "not measured" {
					t.Errorf("check = %+v, want Secure Boot not measured", c)
				}
			}},
		{name: "log that is not a log", boot: sb, want: Failed, wantFailed: []string{CodeEventLogParse},
			evidence: func(h *simHost) *wire.Evidence {
				ev := h.evidence(nil)
				ev.EventLog = []byte("not an event log")
				return ev
			}},
	})
}

func TestAppraiseSecureBoot(t *testing.T) {
	runCases(t, []appraisalCase{
		{name: "Secure Boot off", boot: bootOpts{}, want: Failed, wantFailed: []string{CodeSecureBootDisabled},
			check: func(t *testing.T, v *Verdict) {
				c := findCheck(v, CodeSecureBootDisabled)
				if c.Message != "Secure Boot was disabled at boot." || c.PCR == nil || *c.PCR != 7 {
					t.Errorf("check = %+v", c)
				}
			}},
		{name: "Secure Boot off, not required", boot: bootOpts{}, want: Passed,
			policy: func(p *policy.Policy) { p.SecureBootRequired = false }},
		{name: "SecureBoot event claims on while PCR 7 says off", boot: bootOpts{sbLie: true}, want: Failed,
			wantFailed: []string{CodeEventLogDataMismatch, CodeSecureBootVariables}},
		{name: "db certificate allowed", boot: sb, want: Passed, policy: func(p *policy.Policy) {
			p.SecureBootVariables.DB = []string{fingerprint(readCert(t, "db.der"))}
			p.SecureBootVariables.DBXContains = []string{hexs(revokedHash[:])}
		}},
		{name: "db certificate not allowed", boot: sb, want: Failed, wantFailed: []string{CodeSecureBootVariables},
			policy: func(p *policy.Policy) { p.SecureBootVariables.DB = []string{fingerprint(readCert(t, "kek.der"))} }},
		{name: "dbx lacks a required revocation", boot: sb, want: Failed, wantFailed: []string{CodeSecureBootVariables},
			policy: func(p *policy.Policy) { p.SecureBootVariables.DBXContains = []string{strings.Repeat("ab", 32)} }},
	})
}

func TestAppraiseReferences(t *testing.T) {
	runCases(t, []appraisalCase{
		{name: "kernel not in the reference values", boot: bootOpts{secureBoot: true, kernel: otherKernel}, want: Failed,
			wantFailed: []string{CodeRefKernel},
			check: func(t *testing.T, v *Verdict) {
				c := findCheck(v, CodeRefKernel)
				want := Check{Code: CodeRefKernel, Message: `The kernel "/boot/vmlinuz-6.7.0" (label from the host, unproven) is not among the policy's reference values.`,
					Bank: "sha256", PCR: intp(9), EventIndex: c.EventIndex, Component: "/boot/vmlinuz-6.7.0 (label from the host, unproven)",
					Expected: []string{"/boot/vmlinuz-6.7.0 (" + hexs(sha(kernelImage)) + ")"}, Found: hexs(sha(otherKernel))}
				if diff := cmp.Diff(want, *c); diff != "" {
					t.Errorf("kernel check mismatch (-want +got):\n%s", diff)
				}
			}},
		{name: "kernel allowed by a second reference", boot: bootOpts{secureBoot: true, kernel: otherKernel}, want: Passed,
			policy: func(p *policy.Policy) {
				p.References.Kernel = append(p.References.Kernel, policy.Reference{SHA256: hexs(sha(otherKernel)), Label: "6.6.6"})
			}},
		{name: "boot loader not in the reference values", boot: sb, want: Failed, wantFailed: []string{CodeRefBootloader},
			policy: func(p *policy.Policy) {
				p.References.Bootloader = []policy.Reference{{SHA256: hexs(sha([]byte("other")))}}
			}},
		{name: "class without references is not constrained", boot: bootOpts{secureBoot: true, kernel: otherKernel}, want: Passed,
			policy: func(p *policy.Policy) { p.References.Kernel = nil }},
	})
}

func TestAppraiseBundles(t *testing.T) {
	vendor := vendorKeys(t, "Example OS Vendor")
	other := vendorKeys(t, "Nobody We Know")
	trust := func(p *policy.Policy) { p.Bundles.TrustedRoots = []string{rootPEM(vendor)} }
	withBundles := func(files ...[]byte) func(h *simHost) *wire.Evidence {
		return func(h *simHost) *wire.Evidence {
			ev := h.evidence(nil)
			ev.Bundles = files
			return ev
		}
	}
	good := signBundle(t, vendor, "initrd", bundle.Certified, map[string][]byte{"initrd.img-6.7.0": initrdImage})
	runCases(t, []appraisalCase{
		{name: "signed bundle covers the measured module", boot: sb, want: Passed, policy: trust, evidence: withBundles(good),
			check: func(t *testing.T, v *Verdict) {
				want := []Bundle{{Name: "initrd", Version: "1.0", Vendor: "Example OS Vendor", Acceptance: "certified", Signature: "valid"}}
				if diff := cmp.Diff(want, v.Bundles); diff != "" {
					t.Errorf("bundles mismatch (-want +got):\n%s", diff)
				}
			}},
		{name: "bundle signed by an untrusted vendor", boot: sb, want: Failed, wantFailed: []string{CodeBundleSignature}, policy: trust,
			evidence: withBundles(signBundle(t, other, "initrd", bundle.Certified, map[string][]byte{"initrd.img-6.7.0": initrdImage}))},
		{name: "bundle below the minimum acceptance", boot: sb, want: Failed, wantFailed: []string{CodeBundleAcceptance}, policy: trust,
			evidence: withBundles(signBundle(t, vendor, "initrd", bundle.Community, map[string][]byte{"initrd.img-6.7.0": initrdImage}))},
		{name: "community bundle allowed by the policy", boot: sb, want: Passed,
			policy:   func(p *policy.Policy) { trust(p); p.Bundles.MinAcceptance = "community" },
			evidence: withBundles(signBundle(t, vendor, "initrd", bundle.Community, map[string][]byte{"initrd.img-6.7.0": initrdImage}))},
		{name: "bundle payload never measured", boot: sb, want: Failed, wantFailed: []string{CodeBundleNotMeasured}, policy: trust,
			evidence: withBundles(good, signBundle(t, vendor, "driver", bundle.Certified, map[string][]byte{"driver.v00": []byte("never loaded")}))},
		{name: "measured module in no bundle", boot: sb, want: Failed, wantFailed: []string{CodeBundleUnmeasured}, policy: trust,
			check: func(t *testing.T, v *Verdict) {
				// The file name GRUB logs beside the initrd's hash is the host's word.
				c := findCheck(v, CodeBundleUnmeasured)
				if want := "/boot/initrd.img-6.7.0 (" + UnprovenLabel + ")"; c.Component != want || !strings.Contains(c.Message, UnprovenLabel) {
					t.Errorf("check = %+v, want component %q", c, want)
				}
			}},
		{name: "bundle payload differs from what was measured", boot: sb, want: Failed, wantFailed: []string{CodeBundleDigest},
			policy:   trust,
			evidence: withBundles(signBundle(t, vendor, "initrd", bundle.Certified, map[string][]byte{"initrd.img-6.7.0": []byte("another initrd")}))},
		{name: "bundle file that is not a bundle", boot: sb, want: Failed, wantFailed: []string{CodeBundleSignature, CodeBundleUnmeasured}, policy: trust,
			evidence: withBundles([]byte("{}"))},
	})
}

func TestAppraiseNotTPM20(t *testing.T) {
	for _, fam := range []string{wire.FamilyTPM12, wire.FamilyNone} {
		t.Run("enrolled family "+fam, func(t *testing.T) {
			// Whatever the evidence claims, the enrolled family decides.
			v, err := Appraise(Input{Evidence: &wire.Evidence{TPMFamily: wire.FamilyTPM20}, EnrolledFamily: fam,
				Policy: policy.Default(), Now: testNow})
			if err != nil {
				t.Fatal(err)
			}
			if v.Status != NA || len(v.Checks) != 1 || v.Checks[0].Code != CodeNotTPM20 {
				t.Errorf("verdict = %+v, want N/A with %s", v, CodeNotTPM20)
			}
		})
	}
}

// TestAppraiseFamilyClaimedByTPM20Host: a host enrolled with a TPM 2.0
// (EnrolledFamily "2.0", or "" which means the same) claiming any other
// family is Failed, never N/A.
func TestAppraiseFamilyClaimedByTPM20Host(t *testing.T) {
	for _, enrolled := range []string{wire.FamilyTPM20, ""} {
		for _, fam := range []string{wire.FamilyTPM12, wire.FamilyNone, "", "2.0 ", "2"} {
			t.Run(fmt.Sprintf("enrolled %q claims %q", enrolled, fam), func(t *testing.T) {
				v, err := Appraise(Input{Evidence: &wire.Evidence{TPMFamily: fam}, EnrolledFamily: enrolled,
					Nonce: testNonce, Policy: policy.Default(), Now: testNow})
				if err != nil {
					t.Fatal(err)
				}
				if v.Status != Failed || len(v.Checks) != 1 || v.Checks[0].Code != CodeTPMFamilyMismatch {
					t.Errorf("verdict = %+v, want Failed with %s", v, CodeTPMFamilyMismatch)
				}
			})
		}
	}
}

func TestAppraiseCannotJudge(t *testing.T) {
	h := boot(t, testBanks, standardBoot(t, sb))
	ev := h.evidence(nil)
	ak := h.akPublic(akECC)
	bad := policy.Default()
	bad.Enforcement = "sometimes"
	tests := []struct {
		name string
		in   Input
		want string
	}{
		{"no evidence", Input{AKPublic: ak, Nonce: testNonce, Policy: policy.Default()}, "no evidence"},
		{"no policy", Input{Evidence: ev, AKPublic: ak, Nonce: testNonce}, "no policy"},
		{"invalid policy", Input{Evidence: ev, AKPublic: ak, Nonce: testNonce, Policy: bad, Now: testNow}, "enforcement"},
		{"no nonce issued", Input{Evidence: ev, AKPublic: ak, Policy: policy.Default(), Now: testNow}, "nonce"},
		{"enrolled AK unreadable", Input{Evidence: ev, AKPublic: []byte{1, 2}, Nonce: testNonce, Policy: policy.Default(), Now: testNow}, "AK"},
		{"enrolled AK not restricted", Input{Evidence: ev, AKPublic: unrestrictedAK(t), Nonce: testNonce, Policy: policy.Default(), Now: testNow}, "restricted"},
		{"no time", Input{Evidence: ev, AKPublic: ak, Nonce: testNonce, Policy: policy.Default()}, "Input.Now"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := Appraise(tt.in)
			if err == nil || !strings.Contains(err.Error(), tt.want) || v != nil {
				t.Errorf("Appraise() = %v, %v; want an error about %q", v, err, tt.want)
			}
		})
	}
}

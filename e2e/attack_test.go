package e2e

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-tpm/tpm2"

	"github.com/bootproof/bootproof/internal/bundle"
	"github.com/bootproof/bootproof/internal/emuhost"
	"github.com/bootproof/bootproof/internal/eventlog"
	"github.com/bootproof/bootproof/internal/policy"
	"github.com/bootproof/bootproof/internal/uefi"
	"github.com/bootproof/bootproof/internal/wire"
)

// evidenceAttack is one way a compromised host (root on the OS, a real TPM
// it cannot subvert) lies about its boot. Each runs on its own freshly
// booted and enrolled host with a real TPM.
type evidenceAttack struct {
	name    string
	profile emuhost.Profile // default good
	// firmware, when set, changes the boot's event log before the host
	// enrols; the changed log is measured into a fresh TPM, as firmware
	// that really did that would have (a truthful log of another boot).
	firmware func(t *testing.T, log []byte) []byte
	// noBaseline skips the first, honest attestation (hosts that cannot pass).
	noBaseline bool
	tamper     func(t *testing.T, e *evil, nonce []byte) *wire.Evidence
	status     int    // HTTP status of the evidence answer (0: 200 with a verdict)
	code       string // the host's reason code, or the refusal's code
}

var evidenceAttacks = []evidenceAttack{
	// Freshness: a quote must answer the nonce issued for it, once.
	{name: "quote replayed as it was", status: 409, code: "nonce.unknown",
		tamper: func(t *testing.T, e *evil, n []byte) *wire.Evidence {
			ev := e.evidence(n)
			if a, _ := e.submit(ev); a.Status != 200 {
				t.Fatalf("first submission: %v", a)
			}
			return ev
		}},
	{name: "old quote against a new nonce", code: "quote.nonce",
		tamper: func(t *testing.T, e *evil, n []byte) *wire.Evidence {
			old := e.evidence(e.nonce())
			old.Nonce = n
			return old
		}},
	{name: "fixed nonce the verifier never issued (CVE-2026-6420)", status: 409, code: "nonce.unknown",
		tamper: func(t *testing.T, e *evil, n []byte) *wire.Evidence {
			return e.evidence(make([]byte, 32))
		}},
	{name: "nonce reused for a second quote (CVE-2026-6420)", status: 409, code: "nonce.unknown",
		tamper: func(t *testing.T, e *evil, n []byte) *wire.Evidence {
			if a, _ := e.submit(e.evidence(n)); a.Status != 200 {
				t.Fatalf("first submission: %v", a)
			}
			return e.evidence(n)
		}},
	// Authenticity: only the enrolled AK, inside the TPM, signs quotes.
	{name: "quote signed by a software key (CVE-2023-3674)", code: "quote.signature",
		tamper: func(t *testing.T, e *evil, n []byte) *wire.Evidence {
			ev := e.evidence(n)
			for i := range ev.Quotes {
				ev.Quotes[i].Signature = softwareSign(t, ev.Quotes[i].Attest)
			}
			return ev
		}},
	{name: "quote with its signature bytes flipped (CVE-2023-3674)", code: "quote.signature",
		tamper: func(t *testing.T, e *evil, n []byte) *wire.Evidence {
			ev := e.evidence(n)
			ev.Quotes[0].Signature[len(ev.Quotes[0].Signature)-3] ^= 1
			return ev
		}},
	{name: "quote by an AK of another TPM", code: "quote.signature",
		tamper: func(t *testing.T, e *evil, n []byte) *wire.Evidence {
			ev := e.evidence(n)
			// Another TPM the attacker owns quotes the same nonce.
			e.closeTPM()
			other := &evil{t: t, f: e.f, name: "other", seed: e.seed + 7}
			other.openTPM()
			other.bootOS(emuhost.Good)
			other.enrollRequest("") // makes its AK
			ev.Quotes = []wire.Quote{other.quote(n, e.boot.Banks...)}
			other.closeTPM()
			return ev
		}},
	// The values: what the quote covers is all that is believed.
	{name: "PCR values that disagree with the quote digest", code: "quote.pcr_digest",
		tamper: func(t *testing.T, e *evil, n []byte) *wire.Evidence {
			ev := e.evidence(n)
			for _, q := range ev.Quotes {
				for _, vals := range q.PCRs {
					vals[9] = bytes.Repeat([]byte{0x42}, len(vals[9]))
				}
			}
			return ev
		}},
	{name: "bank downgrade: only SHA-1 quoted while SHA-256 is active", code: "quote.missing_bank",
		tamper: func(t *testing.T, e *evil, n []byte) *wire.Evidence {
			ev := e.evidence(n)
			ev.Quotes = []wire.Quote{e.quote(n, eventlog.SHA1)}
			return ev
		}},
	{name: "quote over no PCR (go-attestation CVE-2022-0317)", code: "quote.pcr_selection",
		tamper: func(t *testing.T, e *evil, n []byte) *wire.Evidence {
			ev := e.evidence(n)
			ev.Quotes = e.quoteEveryBank(n, nil)
			return ev
		}},
	{name: "quote over PCR 0-7 only, invented PCR 9 events (CVE-2022-0317)", code: "quote.pcr_selection",
		tamper: func(t *testing.T, e *evil, n []byte) *wire.Evidence {
			ev := e.evidence(n)
			ev.Quotes = e.quoteEveryBank(n, []uint{0, 1, 2, 3, 4, 5, 6, 7})
			ev.EventLog = rewriteLog(t, ev.EventLog, func(evs []eventlog.Event) []eventlog.Event {
				return append(evs, inventedEvent(evs, 9, "/bundles/rootkit/rk.v00"))
			})
			return ev
		}},
	{name: "event in a PCR the quote does not cover", code: "quote.pcr_selection",
		tamper: func(t *testing.T, e *evil, n []byte) *wire.Evidence {
			ev := e.evidence(n)
			ev.Quotes = e.quoteEveryBank(n, []uint{0, 1, 2, 3, 4, 5, 6, 7, 8, 9})
			ev.EventLog = rewriteLog(t, ev.EventLog, func(evs []eventlog.Event) []eventlog.Event {
				return append(evs, inventedEvent(evs, 14, "/bundles/rootkit/rk.v00"))
			})
			return ev
		}},
	// The event log: untrusted until it replays to the quoted PCRs.
	{name: "event log edited: kernel digest replaced", code: "eventlog.replay",
		tamper: func(t *testing.T, e *evil, n []byte) *wire.Evidence {
			ev := e.evidence(n)
			ev.EventLog = rewriteLog(t, ev.EventLog, func(evs []eventlog.Event) []eventlog.Event {
				i := findEvent(t, evs, hasPrefixData(emuhost.KernelFilePrefix))
				evs[i].Digests = eventlog.Digests(banksOf(evs[i]), []byte("another kernel"))
				return evs
			})
			return ev
		}},
	{name: "event log truncated", code: "eventlog.replay",
		tamper: func(t *testing.T, e *evil, n []byte) *wire.Evidence {
			ev := e.evidence(n)
			ev.EventLog = rewriteLog(t, ev.EventLog, func(evs []eventlog.Event) []eventlog.Event {
				return evs[:findEvent(t, evs, hasPrefixData(emuhost.KernelFilePrefix))]
			})
			return ev
		}},
	{name: "event log reordered within PCR 9", code: "eventlog.replay",
		tamper: func(t *testing.T, e *evil, n []byte) *wire.Evidence {
			ev := e.evidence(n)
			ev.EventLog = rewriteLog(t, ev.EventLog, func(evs []eventlog.Event) []eventlog.Event {
				i := findEvent(t, evs, hasPrefixData(emuhost.KernelFilePrefix))
				j := findEvent(t, evs, hasPrefixData(emuhost.ModuleFilePrefix))
				evs[i], evs[j] = evs[j], evs[i]
				return evs
			})
			return ev
		}},
	{name: "event log padded with events after the quoted state", code: "eventlog.replay",
		tamper: func(t *testing.T, e *evil, n []byte) *wire.Evidence {
			ev := e.evidence(n)
			ev.EventLog = rewriteLog(t, ev.EventLog, func(evs []eventlog.Event) []eventlog.Event {
				return append(evs, inventedEvent(evs, 9, "/bundles/rootkit/rk.v00"))
			})
			return ev
		}},
	{name: "event log with a kernel event dropped and the data of another", code: "eventlog.replay",
		tamper: func(t *testing.T, e *evil, n []byte) *wire.Evidence {
			ev := e.evidence(n)
			ev.EventLog = rewriteLog(t, ev.EventLog, func(evs []eventlog.Event) []eventlog.Event {
				i := findEvent(t, evs, hasPrefixData(emuhost.ModuleFilePrefix))
				return append(evs[:i], evs[i+1:]...)
			})
			return ev
		}},
	{name: "event log that does not parse", code: "eventlog.parse",
		tamper: func(t *testing.T, e *evil, n []byte) *wire.Evidence {
			ev := e.evidence(n)
			ev.EventLog = ev.EventLog[:len(ev.EventLog)-5]
			return ev
		}},
	// Secure Boot: read only from proven PCR 7 events, never from claims.
	{name: "Secure Boot off", profile: emuhost.SecureBootOff, noBaseline: true, code: "secureboot.disabled",
		tamper: func(t *testing.T, e *evil, n []byte) *wire.Evidence { return e.evidence(n) }},
	{name: "Secure Boot off, log edited to say on", profile: emuhost.SecureBootOff, noBaseline: true, code: "eventlog.replay",
		tamper: func(t *testing.T, e *evil, n []byte) *wire.Evidence {
			ev := e.evidence(n)
			ev.EventLog = rewriteLog(t, ev.EventLog, func(evs []eventlog.Event) []eventlog.Event {
				i := findEvent(t, evs, isVariable("SecureBoot"))
				evs[i] = secureBootOn(evs[i])
				return evs
			})
			return ev
		}},
	{name: "Secure Boot off, firmware log with a duplicated SecureBoot variable saying on", profile: emuhost.SecureBootOff,
		noBaseline: true, code: "secureboot.variables",
		firmware: func(t *testing.T, log []byte) []byte {
			return rewriteLog(t, log, func(evs []eventlog.Event) []eventlog.Event {
				i := findEvent(t, evs, isVariable("SecureBoot"))
				return append(evs[:i+1], append([]eventlog.Event{secureBootOn(evs[i])}, evs[i+1:]...)...)
			})
		},
		tamper: func(t *testing.T, e *evil, n []byte) *wire.Evidence { return e.evidence(n) }},
	{name: "Secure Boot off, SecureBoot=1 after the separator (separator trick)", profile: emuhost.SecureBootOff,
		noBaseline: true, code: "secureboot.variables",
		tamper: func(t *testing.T, e *evil, n []byte) *wire.Evidence {
			var extra eventlog.Event
			e.boot.EventLog = rewriteLog(t, e.boot.EventLog, func(evs []eventlog.Event) []eventlog.Event {
				extra = secureBootOn(evs[findEvent(t, evs, isVariable("SecureBoot"))])
				return append(evs, extra)
			})
			if err := e.dev.Extend(7, extra.Digests); err != nil {
				t.Fatal(err)
			}
			return e.evidence(n)
		}},
	{name: "Secure Boot off, EV_NO_ACTION event claiming SecureBoot=1", profile: emuhost.SecureBootOff,
		noBaseline: true, code: "secureboot.disabled",
		tamper: func(t *testing.T, e *evil, n []byte) *wire.Evidence {
			ev := e.evidence(n)
			ev.EventLog = rewriteLog(t, ev.EventLog, func(evs []eventlog.Event) []eventlog.Event {
				i := findEvent(t, evs, isVariable("SecureBoot"))
				fake := secureBootOn(evs[i])
				fake.Type = eventlog.EvNoAction
				for k := range fake.Digests {
					fake.Digests[k].Value = make([]byte, len(fake.Digests[k].Value))
				}
				return append(evs[:i], append([]eventlog.Event{fake}, evs[i:]...)...)
			})
			return ev
		}},
	{name: "dbx rolled back (firmware measured an empty dbx)", code: "secureboot.variables", noBaseline: true,
		firmware: func(t *testing.T, log []byte) []byte {
			return rewriteLog(t, log, func(evs []eventlog.Event) []eventlog.Event {
				i := findEvent(t, evs, isVariable("dbx"))
				data := uefi.EncodeVariableData("d719b2cb-3d3a-4596-a3bc-dad00e67656f", "dbx", nil)
				evs[i].Data, evs[i].Digests = data, eventlog.Digests(banksOf(evs[i]), data)
				return evs
			})
		},
		tamper: func(t *testing.T, e *evil, n []byte) *wire.Evidence { return e.evidence(n) }},
	{name: "TPM reset between quotes, the old log resent", code: "eventlog.replay",
		tamper: func(t *testing.T, e *evil, n []byte) *wire.Evidence {
			// The simulator's reset gives new obfuscated counters, so the
			// quote may also fail quote.reset: see codes in the check.
			e.rebootTPM()
			return e.evidence(n)
		}},
	// Bundles: signed by a trusted vendor, at the allowed level, measured.
	{name: "bundle with its signature stripped", code: "bundle.signature",
		tamper: func(t *testing.T, e *evil, n []byte) *wire.Evidence {
			ev := e.evidence(n)
			var env bundle.Envelope
			if err := json.Unmarshal(ev.Bundles[0], &env); err != nil {
				t.Fatal(err)
			}
			env.Signature = nil
			ev.Bundles[0], _ = json.Marshal(env)
			return ev
		}},
	{name: "bundle re-signed by a rogue signer", code: "bundle.signature",
		tamper: func(t *testing.T, e *evil, n []byte) *wire.Evidence {
			ev := e.evidence(n)
			ev.Bundles[0] = resign(t, ev.Bundles[0], atkVendors(t).Rogue.Signer, nil)
			return ev
		}},
	{name: "bundle signed by an expired certificate of the trusted vendor", code: "bundle.signature",
		tamper: func(t *testing.T, e *evil, n []byte) *wire.Evidence {
			ev := e.evidence(n)
			ev.Bundles[0] = resign(t, ev.Bundles[0], expiredSigner(t), nil)
			return ev
		}},
	{name: "bundle re-signed at community acceptance", code: "bundle.acceptance",
		tamper: func(t *testing.T, e *evil, n []byte) *wire.Evidence {
			ev := e.evidence(n)
			ev.Bundles[0] = resign(t, ev.Bundles[0], atkVendors(t).OS.Signer, func(d *bundle.Descriptor) { d.Acceptance = bundle.Community })
			return ev
		}},
	{name: "bundle in the inventory that was never measured", code: "bundle.not_measured",
		tamper: func(t *testing.T, e *evil, n []byte) *wire.Evidence {
			ev := e.evidence(n)
			ev.Bundles = append(ev.Bundles, resign(t, ev.Bundles[0], atkVendors(t).OS.Signer, func(d *bundle.Descriptor) {
				d.Name, d.Payloads = "ghost", []bundle.Payload{bundle.NewPayload("ghost.v00", []byte("never loaded"))}
			}))
			return ev
		}},
	{name: "measured module whose bundle was hidden from the inventory", code: "bundle.unmeasured_module",
		tamper: func(t *testing.T, e *evil, n []byte) *wire.Evidence {
			ev := e.evidence(n)
			ev.Bundles = ev.Bundles[1:]
			return ev
		}},
}

// alsoAccepted are other codes that are right for an attack whose first
// failure depends on the emulation (see the case's comment).
var alsoAccepted = map[string][]string{
	"TPM reset between quotes, the old log resent": {"quote.reset"},
}

// TestEvidenceAttacks runs every evidence attack against a real verifier.
// Each ends Failed with the named reason (or is refused), and the host
// earns nothing from it: a refused submission leaves the last verdict as
// it was, a judged one makes the host Failed.
func TestEvidenceAttacks(t *testing.T) {
	f := newFleet(t)
	// The group insists on the platform vendor's revocations, so a rolled
	// back dbx fails; a genuine boot's dbx has them.
	probe := f.newEvil(t, "probe", emuhost.Good, 0)
	dbx := revokedByDBX(t, probe.boot.EventLog)
	probe.closeTPM()
	f.attackPolicy(func(p *policy.Policy) { p.SecureBootVariables.DBXContains = dbx })
	for i, tt := range evidenceAttacks {
		t.Run(tt.name, func(t *testing.T) {
			name := fmt.Sprintf("evil-%02d", i)
			profile := tt.profile
			if profile == "" {
				profile = emuhost.Good
			}
			e := f.newEvil(t, name, profile, 0)
			if tt.firmware != nil {
				log := tt.firmware(t, e.boot.EventLog)
				e.closeTPM()
				e.openTPM()
				e.replayInto(log)
				e.boot.EventLog = log
			}
			e.enroll(f.joinToken(name, "10m"))
			if !tt.noBaseline {
				e.attestHonestly()
			}
			ev := tt.tamper(t, e, e.nonce())
			before, _ := f.get(name)
			a, res := e.submit(ev)
			after, err := f.get(name)
			if err != nil {
				t.Fatal(err)
			}
			if tt.status != 0 {
				if a.Status != tt.status || a.Err.Code != tt.code {
					t.Fatalf("answer %v, want %d %s", a, tt.status, tt.code)
				}
				if after.Status != before.Status || !sameTime(after.LastAttested, before.LastAttested) {
					t.Errorf("a refused submission changed the host: %s at %v -> %s at %v", before.Status, before.LastAttested, after.Status, after.LastAttested)
				}
				return
			}
			if a.Status != 200 || res.Status != "Failed" {
				t.Fatalf("answer %v %+v, want 200 Failed (%s)", a, res, tt.code)
			}
			ok := after.ReasonCode == tt.code
			for _, c := range alsoAccepted[tt.name] {
				ok = ok || after.ReasonCode == c
			}
			if after.Status != "Failed" || !ok {
				t.Errorf("host is %s (%s: %s), want Failed (%s)", after.Status, after.ReasonCode, after.Reason, tt.code)
			}
			t.Logf("%s: %s", after.ReasonCode, after.Reason)
		})
	}
}

func sameTime(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Equal(*b)
}

// softwareSign signs attest with a P-256 key made outside any TPM, in the
// TPMT_SIGNATURE form a TPM returns.
func softwareSign(t *testing.T, attest []byte) []byte {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	d := sha256.Sum256(attest)
	r, s, err := ecdsa.Sign(rand.Reader, k, d[:])
	if err != nil {
		t.Fatal(err)
	}
	return tpm2.Marshal(tpm2.TPMTSignature{SigAlg: tpm2.TPMAlgECDSA, Signature: tpm2.NewTPMUSignature(tpm2.TPMAlgECDSA,
		&tpm2.TPMSSignatureECC{Hash: tpm2.TPMAlgSHA256, SignatureR: tpm2.TPM2BECCParameter{Buffer: r.Bytes()},
			SignatureS: tpm2.TPM2BECCParameter{Buffer: s.Bytes()}})})
}

func banksOf(ev eventlog.Event) []eventlog.Alg {
	var out []eventlog.Alg
	for _, d := range ev.Digests {
		out = append(out, d.Alg)
	}
	return out
}

// inventedEvent is an EV_IPL the firmware never measured.
func inventedEvent(evs []eventlog.Event, pcr int, data string) eventlog.Event {
	return eventlog.Event{PCR: pcr, Type: eventlog.EvIPL, Data: []byte(data),
		Digests: eventlog.Digests(banksOf(evs[0]), []byte("rootkit"))}
}

// secureBootOn is a copy of a SecureBoot variable event saying 1.
func secureBootOn(ev eventlog.Event) eventlog.Event {
	data := uefi.EncodeVariableData("8be4df61-93ca-11d2-aa0d-00e098032b8c", "SecureBoot", []byte{1})
	return eventlog.Event{PCR: ev.PCR, Type: ev.Type, Data: data, Digests: eventlog.Digests(banksOf(ev), data)}
}

func atkVendors(t *testing.T) *emuhost.Vendors {
	t.Helper()
	v, err := emuhost.DefaultVendors()
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// resign signs a bundle's descriptor (changed by edit, if given) with s.
func resign(t *testing.T, file []byte, s *bundle.Signer, edit func(*bundle.Descriptor)) []byte {
	t.Helper()
	b, err := bundle.Parse(file)
	if err != nil {
		t.Fatal(err)
	}
	d := b.Descriptor
	if edit != nil {
		edit(&d)
	}
	out, err := bundle.Sign(d, s)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// expiredSigner is a code-signing certificate the trusted OS vendor's root
// issued, which expired a year ago.
func expiredSigner(t *testing.T) *bundle.Signer {
	t.Helper()
	v := atkVendors(t)
	k, err := bundle.NewECDSAKey()
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	c, err := bundle.Issue(bundle.CertSpec{CommonName: "expired signer", Organization: emuhost.OSVendor, CodeSigning: true,
		NotBefore: now.AddDate(-3, 0, 0), NotAfter: now.AddDate(-1, 0, 0)}, k.Public(), v.OS.Root, v.OS.RootKey, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return &bundle.Signer{Key: k, Chain: []*x509.Certificate{c}}
}

// attackPolicy sets group lab's policy: the emulated vendors trusted, then edit.
func (f *fleet) attackPolicy(edit func(*policy.Policy)) {
	f.t.Helper()
	p := policy.Default()
	for _, c := range atkVendors(f.t).TrustedBundleRoots() {
		p.Bundles.TrustedRoots = append(p.Bundles.TrustedRoots, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})))
	}
	edit(p)
	b, err := p.Marshal()
	if err != nil {
		f.t.Fatal(err)
	}
	if err := f.admin.Do(context.Background(), "PUT", "/api/v1/groups/lab/policy", b, nil); err != nil {
		f.t.Fatalf("set policy: %v", err)
	}
}

// revokedByDBX returns the hashes in the dbx a genuine good boot measures.
func revokedByDBX(t *testing.T, log []byte) []string {
	t.Helper()
	l, err := eventlog.Parse(log)
	if err != nil {
		t.Fatal(err)
	}
	i := findEvent(t, l.Events, isVariable("dbx"))
	v, err := uefi.ParseVariableData(l.Events[i].Data)
	if err != nil {
		t.Fatal(err)
	}
	db, err := uefi.ParseSignatureLists(v.Data)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, h := range db.Hashes {
		out = append(out, hex.EncodeToString(h.Value))
	}
	if len(out) == 0 {
		t.Fatal("the genuine dbx revokes nothing")
	}
	return out
}

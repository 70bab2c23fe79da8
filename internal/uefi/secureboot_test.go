package uefi_test

import (
	"strings"
	"testing"

	"github.com/bootproof/bootproof/internal/eventlog"
	"github.com/bootproof/bootproof/internal/uefi"
)

var banks = []eventlog.Alg{eventlog.SHA256, eventlog.SHA512}

// ev makes a PCR 7 event whose digests are the hash of its data, as honest
// firmware logs variable events.
func ev(typ eventlog.EventType, data []byte) eventlog.Event {
	return eventlog.Event{PCR: 7, Type: typ, Digests: eventlog.Digests(banks, data), Data: data}
}

func variable(guid, name string, data []byte) eventlog.Event {
	return ev(eventlog.EvEFIVariableDriverConfig, uefi.EncodeVariableData(guid, name, data))
}

func separator() eventlog.Event { return ev(eventlog.EvSeparator, []byte{0, 0, 0, 0}) }

func authority(t *testing.T, der []byte) eventlog.Event {
	sigData := append(uefi.BootproofOwner[:], der...)
	return ev(eventlog.EvEFIVariableAuthority, uefi.EncodeVariableData(dbGUID, "db", sigData))
}

// index numbers the events as a log would.
func index(es ...eventlog.Event) []eventlog.Event {
	for i := range es {
		es[i].Index = i + 1
	}
	return es
}

func TestSecureBootState(t *testing.T) {
	pk, kek, db := testCert(t, "PK"), testCert(t, "KEK"), testCert(t, "db signer")
	on := []eventlog.Event{
		variable(globalGUID, "SecureBoot", []byte{1}),
		variable(globalGUID, "PK", uefi.EncodeSignatureList(pk)),
		variable(globalGUID, "KEK", uefi.EncodeSignatureList(kek)),
		variable(dbGUID, "db", uefi.EncodeSignatureList(db)),
		variable(dbGUID, "dbx", nil),
		separator(),
		authority(t, db),
	}
	sb, err := uefi.SecureBootState(index(on...))
	if err != nil {
		t.Fatalf("SecureBootState: %v", err)
	}
	if !sb.Enabled || !sb.Measured {
		t.Errorf("Enabled %v Measured %v, want both", sb.Enabled, sb.Measured)
	}
	if sb.PK != nil && len(sb.PK.Certs) == 1 && sb.DB != nil && len(sb.DB.Certs) > 0 {
		sb.PK.Certs[0].ReadNames()
		sb.DB.Certs[0].ReadNames()
	}
	if sb.PK == nil || len(sb.PK.Certs) != 1 || sb.PK.Certs[0].Subject != "CN=PK" || sb.DB.Certs[0].Subject != "CN=db signer" || sb.DBX() == nil {
		t.Errorf("databases PK %+v db %+v dbx %+v", sb.PK, sb.DB, sb.DBX())
	}
	if len(sb.Authorities) != 1 || sb.Authorities[0].Cert == nil || sb.Authorities[0].Cert.SHA256 != sb.DB.Certs[0].SHA256 ||
		!sb.Authorities[0].AfterSeparator || sb.Authorities[0].Variable != "db" || sb.Authorities[0].Event != 7 {
		t.Errorf("authorities %+v, want the db certificate at event 7 after the separator", sb.Authorities)
	}

	tampered := variable(globalGUID, "SecureBoot", []byte{1})
	tampered.Digests = eventlog.Digests(banks, uefi.EncodeVariableData(globalGUID, "SecureBoot", []byte{0}))
	oneBankBad := variable(globalGUID, "SecureBoot", []byte{1})
	oneBankBad.Digests[1].Value = eventlog.SHA512.Sum([]byte("x"))
	shim := authority(t, db)
	shim.Data = append(shim.Data, 0, 0, 0, 0, 0, 0)
	shim.Digests = eventlog.Digests(banks, shim.Data[:len(shim.Data)-1])

	tests := []struct {
		name    string
		events  []eventlog.Event
		enabled bool
		wantErr string
	}{
		{"off", []eventlog.Event{variable(globalGUID, "SecureBoot", []byte{0}), separator()}, false, ""},
		{"empty SecureBoot variable is off", []eventlog.Event{variable(globalGUID, "SecureBoot", nil), separator()}, false, ""},
		{"not measured is off", []eventlog.Event{separator()}, false, ""},
		{"SecureBoot of another vendor ignored", []eventlog.Event{variable(dbGUID, "SecureBoot", []byte{1})}, false, ""},
		{"other PCRs ignored", []eventlog.Event{func() eventlog.Event { e := variable(globalGUID, "SecureBoot", []byte{1}); e.PCR = 1; return e }()}, false, ""},
		{"shim authority with trailer", []eventlog.Event{variable(globalGUID, "SecureBoot", []byte{1}), separator(), shim}, true, ""},
		{"data does not hash to digest", []eventlog.Event{tampered}, false, "is not the hash of the event data"},
		{"one bank's digest does not match", []eventlog.Event{oneBankBad}, false, "sha512 digest"},
		{"SecureBoot twice", []eventlog.Event{variable(globalGUID, "SecureBoot", []byte{0}), variable(globalGUID, "SecureBoot", []byte{1})}, false, "measured twice"},
		{"variable after separator", []eventlog.Event{separator(), variable(globalGUID, "SecureBoot", []byte{1})}, false, "after the PCR 7 separator"},
		{"two separators", []eventlog.Event{separator(), separator()}, false, "second separator"},
		{"error separator", []eventlog.Event{ev(eventlog.EvSeparator, []byte{1, 0, 0, 0})}, false, "signalled an error"},
		{"SecureBoot value 2", []eventlog.Event{variable(globalGUID, "SecureBoot", []byte{2})}, false, "want empty, 00 or 01"},
		{"db not a signature list", []eventlog.Event{variable(dbGUID, "db", []byte("junk"))}, false, "variable db"},
		{"authority not variable data", []eventlog.Event{ev(eventlog.EvEFIVariableAuthority, []byte("junk"))}, false, "header needs"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sb, err := uefi.SecureBootState(index(tt.events...))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one saying %q", err, tt.wantErr)
				}
				if !strings.Contains(err.Error(), "event ") {
					t.Errorf("error %q does not name the event", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("SecureBootState: %v", err)
			}
			if sb.Enabled != tt.enabled {
				t.Errorf("Enabled = %v, want %v", sb.Enabled, tt.enabled)
			}
		})
	}
}

// TestSecureBootFromVerifiedLog goes the way the appraisal does: a log
// written by eventlog.Writer, verified against its own PCR 7, then judged.
func TestSecureBootFromVerifiedLog(t *testing.T) {
	w := eventlog.NewWriter(banks)
	for _, e := range []eventlog.Event{variable(globalGUID, "SecureBoot", []byte{1}), separator()} {
		if err := w.Append(7, e.Type, e.Digests, e.Data); err != nil {
			t.Fatal(err)
		}
	}
	l, err := eventlog.Parse(w.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	pcrs, err := l.Replay(eventlog.SHA512)
	if err != nil {
		t.Fatal(err)
	}
	events, err := l.Verified(eventlog.SHA512, map[int][]byte{7: pcrs[7]})
	if err != nil {
		t.Fatal(err)
	}
	sb, err := uefi.SecureBootState(events)
	if err != nil || !sb.Enabled {
		t.Fatalf("SecureBootState = %+v, %v; want enabled", sb, err)
	}
}

// TestSecureBootStateBoundBy checks that the data is checked against the
// digest of the bank the caller names, and that a bank weaker than SHA-256
// cannot be named.
func TestSecureBootStateBoundBy(t *testing.T) {
	badSHA256 := variable(globalGUID, "SecureBoot", []byte{1})
	badSHA256.Digests[0].Value = eventlog.SHA256.Sum([]byte("x"))
	badSHA512 := variable(globalGUID, "SecureBoot", []byte{1})
	badSHA512.Digests[1].Value = eventlog.SHA512.Sum([]byte("x"))
	tests := []struct {
		name    string
		e       eventlog.Event
		bind    eventlog.Alg
		wantErr string
	}{
		{"honest, bound by SHA-256", variable(globalGUID, "SecureBoot", []byte{1}), eventlog.SHA256, ""},
		{"honest, bound by SHA-512", variable(globalGUID, "SecureBoot", []byte{1}), eventlog.SHA512, ""},
		{"SHA-256 digest wrong, bound by SHA-256", badSHA256, eventlog.SHA256, "sha256 digest"},
		{"SHA-512 digest wrong, bound by SHA-512", badSHA512, eventlog.SHA512, "sha512 digest"},
		{"SHA-512 digest wrong, bound by the strongest", badSHA512, 0, "sha512 digest"},
		{"no digest of the binding bank", variable(globalGUID, "SecureBoot", []byte{1}), eventlog.SHA384, "no sha384 digest"},
		{"SHA-1 cannot bind", variable(globalGUID, "SecureBoot", []byte{1}), eventlog.SHA1, "SHA-256 or better"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sb, err := uefi.SecureBootStateBoundBy(index(tt.e), tt.bind)
			if tt.wantErr == "" {
				if err != nil || !sb.Enabled {
					t.Fatalf("SecureBootStateBoundBy = %+v, %v; want enabled", sb, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error %v, want one saying %q", err, tt.wantErr)
			}
		})
	}
}

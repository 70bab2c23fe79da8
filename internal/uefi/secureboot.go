package uefi

import (
	"bytes"
	"fmt"

	"github.com/bootproof/bootproof/internal/eventlog"
)

// SecureBoot is the UEFI Secure Boot configuration a boot measured into
// PCR 7 (TCG PC Client PFP §3.3.4.8 and §10.4.4).
type SecureBoot struct {
	// Enabled is the value of the SecureBoot variable. A variable measured
	// with no data (it does not exist on the platform) counts as off.
	Enabled bool
	// Measured is true when the log holds a SecureBoot variable event. When
	// false, Enabled is false: nothing shows Secure Boot was on.
	Measured bool
	// Event is the log index of the SecureBoot variable event when
	// Measured: the evidence a report names for the state.
	Event int
	// PK, KEK and DB are the signature databases as measured, nil when
	// their variable was not measured.
	PK, KEK, DB *SignatureDB
	// DBXMeasured is true when the dbx variable was measured; DBXEntries
	// counts its entries. Its entries are read on demand (DBX): a dbx holds
	// hundreds of revoked hashes that most appraisals only count.
	DBXMeasured bool
	DBXEntries  int
	dbx         []byte
	// Authorities are the EV_EFI_VARIABLE_AUTHORITY events in log order: the
	// db (or shim MokList) entry that verified each image.
	Authorities []Authority
	// DebugMode is true when firmware logged "UEFI Debug Mode" in PCR 7: a
	// debugger was attached and nothing after it can be trusted. DebugEvent
	// is that event's log index.
	DebugMode  bool
	DebugEvent int
}

// DBX returns the entries of the measured dbx, nil when it was not
// measured. Data slices alias the event log.
func (s *SecureBoot) DBX() *SignatureDB {
	if !s.DBXMeasured {
		return nil
	}
	db, err := ParseSignatureLists(s.dbx)
	if err != nil {
		// SecureBootState checked these lists already.
		return &SignatureDB{}
	}
	return db
}

// Authority is one EV_EFI_VARIABLE_AUTHORITY event.
type Authority struct {
	Event      int    // index in the log
	Variable   string // the database the entry came from: "db", "MokList", "Shim", "SbatLevel"...
	VendorGUID GUID
	// Cert is the certificate that verified the image, when the event data
	// is an EFI_SIGNATURE_DATA or a bare certificate (PFP §10.4.4).
	Cert *Cert
	// Data is the raw variable data (for SbatLevel, the SBAT policy text).
	Data []byte
	// AfterSeparator is true for images verified after the PCR 7 separator
	// (boot applications), false for drivers and option ROMs.
	AfterSeparator bool
}

// secureBootVars are the variables read into SecureBoot, by owner and name.
var secureBootVars = map[GUID]map[string]bool{
	GlobalVariable:        {"SecureBoot": true, "PK": true, "KEK": true},
	ImageSecurityDatabase: {"db": true, "dbx": true},
}

// SecureBootState derives the Secure Boot state from PCR 7 events. events
// must be the verified events of one bank (eventlog.(*Log).Verified); events
// of other PCRs are ignored. It fails when the events are not what honest
// firmware logs:
//   - a variable or authority event whose data does not hash to its digest
//     in every bank Go can compute (PFP §10.4.4: these digests are of the
//     UEFI_VARIABLE_DATA), since the data, unlike the digest, is not proven;
//   - a Secure Boot variable measured twice;
//   - a variable measured after the PCR 7 separator, or two separators;
//   - a SecureBoot value other than empty, 0 or 1;
//   - a PK, KEK, db or dbx value that is not a signature list.
func SecureBootState(events []eventlog.Event) (*SecureBoot, error) {
	return SecureBootStateBoundBy(events, 0)
}

// SecureBootStateBoundBy is SecureBootState with the data of each event
// checked against its digest in bank bind instead of the strongest one.
// The caller must have proven bind's replay (the events' PCR 7 digests in
// bind are what the TPM extended): then any bank of SHA-256 or better binds
// the data as well as the strongest, and SHA-256 is the fastest of them on
// CPUs with SHA extensions, which matters for large db and dbx values.
// A bind of 0 means the strongest digest.
func SecureBootStateBoundBy(events []eventlog.Event, bind eventlog.Alg) (*SecureBoot, error) {
	if bind != 0 && bind.Size() < eventlog.SHA256.Size() {
		return nil, fmt.Errorf("bind Secure Boot data by %v: a bank of SHA-256 or better is needed", bind)
	}
	var (
		sb        SecureBoot
		separator bool
		seen      = map[string]int{}
	)
	for i := range events {
		e := &events[i]
		if e.PCR != 7 {
			continue
		}
		switch e.Type {
		case eventlog.EvSeparator:
			if separator {
				return nil, fmt.Errorf("event %d: second separator in PCR 7", e.Index)
			}
			separator = true
			if err := checkDigests(e, e.Data, bind); err != nil {
				return nil, fmt.Errorf("event %d: separator: %w", e.Index, err)
			}
			if !bytes.Equal(e.Data, []byte{0, 0, 0, 0}) {
				return nil, fmt.Errorf("event %d: PCR 7 separator value %x: firmware signalled an error", e.Index, e.Data)
			}

		case eventlog.EvEFIAction:
			if string(e.Data) == "UEFI Debug Mode" && checkDigests(e, e.Data, bind) == nil {
				sb.DebugMode, sb.DebugEvent = true, e.Index
			}

		case eventlog.EvEFIVariableDriverConfig:
			v, err := ParseVariableData(e.Data)
			if err != nil {
				return nil, fmt.Errorf("event %d: %w", e.Index, err)
			}
			if err := checkDigests(e, e.Data, bind); err != nil {
				return nil, fmt.Errorf("event %d: variable %s: %w", e.Index, v.Name, err)
			}
			if !secureBootVars[v.VendorGUID][v.Name] {
				continue // other configuration (SetupMode, dbt, vendor variables)
			}
			if separator {
				return nil, fmt.Errorf("event %d: variable %s measured after the PCR 7 separator", e.Index, v.Name)
			}
			if prev, dup := seen[v.Name]; dup {
				return nil, fmt.Errorf("event %d: variable %s measured twice (first at event %d)", e.Index, v.Name, prev)
			}
			seen[v.Name] = e.Index
			if v.Name == "SecureBoot" {
				sb.Event = e.Index
			}
			if err := sb.setVariable(v); err != nil {
				return nil, fmt.Errorf("event %d: %w", e.Index, err)
			}

		case eventlog.EvEFIVariableAuthority:
			a, err := parseAuthority(e, bind)
			if err != nil {
				return nil, fmt.Errorf("event %d: %w", e.Index, err)
			}
			a.AfterSeparator = separator
			sb.Authorities = append(sb.Authorities, *a)
		}
	}
	return &sb, nil
}

func (sb *SecureBoot) setVariable(v *VariableData) error {
	if v.Name == "SecureBoot" {
		sb.Measured = true
		switch {
		case len(v.Data) == 0:
			sb.Enabled = false
		case len(v.Data) == 1 && v.Data[0] <= 1:
			sb.Enabled = v.Data[0] == 1
		default:
			return fmt.Errorf("variable SecureBoot holds %x, want empty, 00 or 01", v.Data)
		}
		return nil
	}
	if v.Name == "dbx" {
		n, err := CountSignatureLists(v.Data)
		if err != nil {
			return fmt.Errorf("variable %s: %w", v.Name, err)
		}
		sb.DBXMeasured, sb.DBXEntries, sb.dbx = true, n, v.Data
		return nil
	}
	db, err := ParseSignatureLists(v.Data)
	if err != nil {
		return fmt.Errorf("variable %s: %w", v.Name, err)
	}
	switch v.Name {
	case "PK":
		sb.PK = db
	case "KEK":
		sb.KEK = db
	case "db":
		sb.DB = db
	}
	return nil
}

// maxShimTrailer bounds the bytes old shims left after an authority's
// variable data (6 in the corpus: 5 hashed, 1 not).
const maxShimTrailer = 8

// parseAuthority reads an EV_EFI_VARIABLE_AUTHORITY event. Its digest is of
// the UEFI_VARIABLE_DATA. Shims without commit 8a27a480 ("Fix the size of
// the authority event") sized the structure with its C padding: a few bytes
// follow the variable data and the digest covers all but the last byte of
// the event. That form is accepted, as go-attestation does; the trailer is
// never read as data.
func parseAuthority(e *eventlog.Event, bind eventlog.Alg) (*Authority, error) {
	v, extra, err := parseVariableData(e.Data)
	if err != nil {
		return nil, err
	}
	measured := e.Data
	switch {
	case extra == 0:
	case extra <= maxShimTrailer:
		measured = e.Data[:len(e.Data)-1]
	default:
		return nil, fmt.Errorf("authority %s: %d bytes after the variable data", v.Name, extra)
	}
	if err := checkDigests(e, measured, bind); err != nil {
		return nil, fmt.Errorf("authority %s: %w", v.Name, err)
	}
	a := &Authority{Event: e.Index, Variable: v.Name, VendorGUID: v.VendorGUID, Data: v.Data}
	// PFP §10.4.4: the data is the EFI_SIGNATURE_DATA (owner GUID and
	// certificate) of the db entry; shim logs its vendor certificate bare.
	if len(v.Data) > 16 {
		if looksLikeDER(v.Data[16:]) {
			var owner GUID
			copy(owner[:], v.Data)
			c := parseCert(owner, v.Data[16:])
			a.Cert = &c
			return a, nil
		}
	}
	if looksLikeDER(v.Data) {
		c := parseCert(GUID{}, v.Data)
		a.Cert = &c
	}
	return a, nil
}

// looksLikeDER reports whether b is exactly one DER SEQUENCE with a long-form
// length, as every certificate is.
func looksLikeDER(b []byte) bool {
	if len(b) < 4 || b[0] != 0x30 {
		return false
	}
	switch b[1] {
	case 0x81:
		return int(b[2])+3 == len(b)
	case 0x82:
		return int(b[2])<<8|int(b[3])+4 == len(b)
	}
	return false
}

// checkDigests checks that e's digest in bank bind (or, with bind 0, the
// strongest digest Go can compute) is the hash of data. One
// collision-resistant digest of a proven bank binds the data; the other
// banks' digests add nothing to that binding (each bank's replay is checked
// on its own), and hashing large db and dbx values in every bank was a large
// part of an appraisal's cost.
func checkDigests(e *eventlog.Event, data []byte, bind eventlog.Alg) error {
	var best *eventlog.Digest
	for i := range e.Digests {
		d := &e.Digests[i]
		if bind != 0 {
			if d.Alg == bind {
				best = d
				break
			}
			continue
		}
		if _, ok := d.Alg.Hash(); ok && (best == nil || d.Alg.Size() > best.Alg.Size()) {
			best = d
		}
	}
	if best == nil {
		if bind != 0 {
			return fmt.Errorf("no %v digest", bind)
		}
		return fmt.Errorf("no digest in a bank that can be checked")
	}
	if !best.Alg.Matches(data, best.Value) {
		return fmt.Errorf("%v digest %x is not the hash of the event data", best.Alg, best.Value)
	}
	return nil
}

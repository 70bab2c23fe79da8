package uefi_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/bootproof/bootproof/internal/eventlog"
	"github.com/bootproof/bootproof/internal/uefi"
)

// corpusVariables returns the data of every UEFI variable event in the
// shared corpus, or nil when the corpus is absent.
func corpusVariables() [][]byte {
	dir, _ := os.Getwd()
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return nil
		}
		dir = parent
	}
	files, _ := filepath.Glob(filepath.Join(filepath.Dir(dir), "shared", "testdata", "eventlogs", "*", "*", "eventlog.bin"))
	var out [][]byte
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		l, err := eventlog.Parse(b)
		if err != nil {
			continue
		}
		for _, e := range l.Events {
			switch e.Type {
			case eventlog.EvEFIVariableDriverConfig, eventlog.EvEFIVariableAuthority, eventlog.EvEFIVariableBoot:
				out = append(out, e.Data)
			}
		}
	}
	return out
}

func FuzzVariableData(f *testing.F) {
	for _, d := range corpusVariables() {
		f.Add(d)
	}
	f.Add(uefi.EncodeVariableData(globalGUID, "SecureBoot", []byte{1}))
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := uefi.ParseVariableData(b)
		if err != nil {
			return
		}
		// A parsed variable re-encodes to the same bytes, unless its name is
		// not valid UTF-16 (replaced by U+FFFD when decoded).
		again := uefi.EncodeVariableData(v.VendorGUID.String(), v.Name, v.Data)
		if w, err := uefi.ParseVariableData(again); err != nil || w.Name != v.Name || string(w.Data) != string(v.Data) || w.VendorGUID != v.VendorGUID {
			t.Fatalf("re-encoding %q: %v", v.Name, err)
		}
	})
}

func FuzzSignatureList(f *testing.F) {
	for _, d := range corpusVariables() {
		if v, err := uefi.ParseVariableData(d); err == nil && len(v.Data) > 0 {
			f.Add(v.Data)
		}
	}
	f.Add(uefi.EncodeSignatureList(testCert(f, "seed")))
	f.Fuzz(func(t *testing.T, b []byte) {
		db, err := uefi.ParseSignatureLists(b)
		if err != nil {
			return
		}
		for _, c := range db.Certs {
			if len(c.DER) > len(b) {
				t.Fatalf("certificate of %d bytes from %d input bytes", len(c.DER), len(b))
			}
		}
	})
}

// FuzzSecureBootState feeds arbitrary data as PCR 7 events with honest
// digests: the only lies left are in the data, which must never panic.
func FuzzSecureBootState(f *testing.F) {
	for _, d := range corpusVariables() {
		f.Add(uint32(eventlog.EvEFIVariableDriverConfig), d)
	}
	f.Fuzz(func(t *testing.T, typ uint32, data []byte) {
		e := ev(eventlog.EventType(typ), data)
		_, _ = uefi.SecureBootState([]eventlog.Event{e, separator(), e})
	})
}

// FuzzDescribe checks that describing any event data never panics.
func FuzzDescribe(f *testing.F) {
	for _, d := range corpusVariables() {
		f.Add(uint32(eventlog.EvEFIVariableBoot), d)
	}
	f.Add(uint32(eventlog.EvEFIBootServicesApplication), make([]byte, 40))
	f.Fuzz(func(t *testing.T, typ uint32, data []byte) {
		_ = uefi.Describe(eventlog.Event{Type: eventlog.EventType(typ), Data: data})
		_ = uefi.DevicePathText(data)
	})
}

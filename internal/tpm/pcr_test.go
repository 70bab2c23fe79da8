package tpm

import (
	"bytes"
	"testing"

	"github.com/bootproof/bootproof/internal/eventlog"
	"github.com/google/go-cmp/cmp"
)

// openSim opens the reference TPM with seed and closes it when the test ends.
func openSim(t testing.TB, seed int64) *Device {
	t.Helper()
	d, err := OpenSimulator(seed)
	if err != nil {
		t.Fatalf("OpenSimulator(%d): %v", seed, err)
	}
	t.Cleanup(func() {
		if d.tpm != nil {
			d.Close()
		}
	})
	return d
}

func TestBanks(t *testing.T) {
	d := openSim(t, 1)
	got, err := d.Banks()
	if err != nil {
		t.Fatalf("Banks: %v", err)
	}
	// The reference TPM as go-tpm-tools builds it allocates SHA-1, SHA-256,
	// SHA-384 and SHA-512 banks.
	want := []eventlog.Alg{eventlog.SHA1, eventlog.SHA256, eventlog.SHA384, eventlog.SHA512}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Banks() mismatch (-want +got):\n%s", diff)
	}
}

// TestReadPCRsAfterExtend extends PCRs as firmware would and checks that
// every bank's 24 PCRs equal a software replay of the same extends.
func TestReadPCRsAfterExtend(t *testing.T) {
	d := openSim(t, 2)
	banks := []eventlog.Alg{eventlog.SHA1, eventlog.SHA256, eventlog.SHA384, eventlog.SHA512}
	events := []struct {
		pcr  int
		data string
	}{
		{0, "firmware"}, {0, "firmware config"}, {4, "boot loader"}, {7, "SecureBoot=1"},
		{7, "db cert"}, {8, "kernel cmdline"}, {9, "kernel"}, {9, "module a"}, {23, "last pcr"},
	}
	want := map[eventlog.Alg]map[int][]byte{}
	for _, b := range banks {
		want[b] = map[int][]byte{}
		for i := 0; i < NumPCRs; i++ {
			want[b][i] = make([]byte, b.Size())
			if i >= 17 && i <= 22 {
				// The DRTM PCRs start at all ones after a
				// TPM2_Startup without a dynamic launch (PC Client PTP).
				want[b][i] = bytes.Repeat([]byte{0xff}, b.Size())
			}
		}
	}
	for _, e := range events {
		ds := eventlog.Digests(banks, []byte(e.data))
		if err := d.Extend(e.pcr, ds); err != nil {
			t.Fatalf("Extend(%d, %q): %v", e.pcr, e.data, err)
		}
		for _, dg := range ds {
			want[dg.Alg][e.pcr] = dg.Alg.Sum(append(append([]byte{}, want[dg.Alg][e.pcr]...), dg.Value...))
		}
	}
	for _, b := range banks {
		got, err := d.ReadPCRs(b)
		if err != nil {
			t.Fatalf("ReadPCRs(%v): %v", b, err)
		}
		if diff := cmp.Diff(want[b], got); diff != "" {
			t.Errorf("ReadPCRs(%v) mismatch with replay (-want +got):\n%s", b, diff)
		}
	}
}

func TestExtendRejectsBadInput(t *testing.T) {
	d := openSim(t, 3)
	tests := []struct {
		name    string
		pcr     int
		digests []eventlog.Digest
	}{
		{"pcr too high", 24, eventlog.Digests([]eventlog.Alg{eventlog.SHA256}, nil)},
		{"negative pcr", -1, eventlog.Digests([]eventlog.Alg{eventlog.SHA256}, nil)},
		{"short digest", 1, []eventlog.Digest{{Alg: eventlog.SHA256, Value: []byte{1, 2}}}},
		{"unknown alg", 1, []eventlog.Digest{{Alg: 0x99, Value: bytes.Repeat([]byte{1}, 32)}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := d.Extend(tt.pcr, tt.digests); err == nil {
				t.Errorf("Extend(%d, %v) = nil, want error", tt.pcr, tt.digests)
			}
		})
	}
}

func TestClosedDevice(t *testing.T) {
	d := openSim(t, 4)
	if err := d.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if _, err := d.ReadPCRs(eventlog.SHA256); err == nil {
		t.Error("ReadPCRs on a closed device = nil error, want error")
	}
	if err := d.Close(); err == nil {
		t.Error("second Close = nil error, want error")
	}
}

package loadgen

import (
	"os"
	"testing"
	"time"
)

func TestParseStatCPU(t *testing.T) {
	tests := []struct {
		name    string
		stat    string
		want    time.Duration
		wantErr bool
	}{
		{"plain", "4242 (bootproof) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 12 0 1000 2000000 5000", 3 * time.Second, false},
		{"name with spaces and parentheses", "7 (a (b) c) R 1 7 7 0 -1 0 0 0 0 0 100 0 0 0 20 0 1 0 1 1 1", time.Second, false},
		{"no name", "4242 bootproof S 1", 0, true},
		{"too few fields", "1 (x) S 1 2 3", 0, true},
		{"not numbers", "1 (x) S 1 1 1 0 -1 0 0 0 0 0 a b 0 0 20 0 1 0 1 1 1", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseStatCPU([]byte(tt.stat))
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("parseStatCPU = %v, %v; want %v, error %v", got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestParseStatusMemory(t *testing.T) {
	rss, hwm := parseStatusMemory([]byte("Name:\tbp\nVmHWM:\t  2048 kB\nVmRSS:\t  1024 kB\nThreads:\t9\n"))
	if rss != 1024<<10 || hwm != 2048<<10 {
		t.Errorf("rss %d hwm %d, want %d and %d", rss, hwm, 1024<<10, 2048<<10)
	}
	if rss, hwm := parseStatusMemory([]byte("VmRSS: lots\nVmHWM: 5 MB\n")); rss != 0 || hwm != 0 {
		t.Errorf("unreadable lines gave rss %d hwm %d, want 0", rss, hwm)
	}
}

// TestReadProcSelf reads this test process, as loadgen reads the verifier.
func TestReadProcSelf(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc on this system")
	}
	s, err := ReadProc(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if s.RSSBytes <= 0 || s.HWMBytes < s.RSSBytes {
		t.Errorf("RSS %d, peak %d: want a positive RSS no larger than the peak", s.RSSBytes, s.HWMBytes)
	}
	if _, err := ReadProc(-1); err == nil {
		t.Error("read a process that cannot exist")
	}
}

func FuzzParseStatCPU(f *testing.F) {
	f.Add([]byte("4242 (bootproof) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 12 0 1000 2000000 5000"))
	f.Add([]byte("7 (a (b) c) R 1"))
	f.Add([]byte(")"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if d, err := parseStatCPU(b); err == nil && d < 0 && d > -time.Hour {
			t.Errorf("negative CPU time %v from %q", d, b)
		}
	})
}

func FuzzParseStatusMemory(f *testing.F) {
	f.Add([]byte("VmHWM:\t  2048 kB\nVmRSS:\t  1024 kB\n"))
	f.Add([]byte("VmRSS: -5 kB\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if rss, hwm := parseStatusMemory(b); rss < 0 || hwm < 0 {
			t.Errorf("negative memory %d %d from %q", rss, hwm, b)
		}
	})
}

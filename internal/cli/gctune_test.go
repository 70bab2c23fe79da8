package cli

import "testing"

func TestVerifierGCKeepsOperatorSettings(t *testing.T) {
	tests := []struct {
		name        string
		env         map[string]string
		wantPercent int
		wantLimit   int64
	}{
		{"defaults", nil, verifierGCPercent, verifierMemoryLimit},
		{"GOGC set", map[string]string{"GOGC": "100"}, -1, verifierMemoryLimit},
		{"GOGC off", map[string]string{"GOGC": "off"}, -1, verifierMemoryLimit},
		{"GOMEMLIMIT set", map[string]string{"GOMEMLIMIT": "512MiB"}, verifierGCPercent, -1},
		{"both set", map[string]string{"GOGC": "50", "GOMEMLIMIT": "1GiB"}, -1, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, l := verifierGC(func(k string) string { return tt.env[k] })
			if p != tt.wantPercent || l != tt.wantLimit {
				t.Errorf("verifierGC = (%d, %d), want (%d, %d)", p, l, tt.wantPercent, tt.wantLimit)
			}
		})
	}
}

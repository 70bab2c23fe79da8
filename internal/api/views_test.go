package api_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/bootproof/bootproof/internal/api"
	"github.com/bootproof/bootproof/internal/store"
)

// TestAttestationFrom: one appraisal shows as before, with count 1; a
// roll-up shows its hour, count, mean and extremes.
func TestAttestationFrom(t *testing.T) {
	at := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		in   store.AttestationSummary
		want string
	}{
		{"one appraisal", store.AttestationSummary{Host: "h", At: at.Add(time.Minute), Status: "Failed",
			ReasonCode: "secureboot.disabled", DurationMicros: 4000, Count: 1, MinDurationMicros: 4000,
			MaxDurationMicros: 4000, LastAt: at.Add(time.Minute)},
			`{"at":"2026-11-25T09:01:00Z","status":"Failed","reason_code":"secureboot.disabled","duration_us":4000,"count":1}`},
		{"an hour rolled up", store.AttestationSummary{Host: "h", At: at, Status: "Passed", DurationMicros: 6000,
			Period: time.Hour, Count: 3, MinDurationMicros: 1000, MaxDurationMicros: 3000, LastAt: at.Add(59 * time.Minute)},
			`{"at":"2026-11-25T09:00:00Z","status":"Passed","duration_us":2000,"count":3,"rollup":"hour",` +
				`"duration_min_us":1000,"duration_max_us":3000,"last_at":"2026-11-25T09:59:00Z"}`},
	}
	for _, tt := range tests {
		got, err := json.Marshal(api.AttestationFrom(tt.in))
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != tt.want {
			t.Errorf("%s:\n got %s\nwant %s", tt.name, got, tt.want)
		}
	}
}

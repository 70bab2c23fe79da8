package web

import (
	"testing"
	"time"
)

// TestStatusBadgeTrustLevel: a Passed host whose group constrains no
// component is shown as passed on Secure Boot alone; other statuses, and
// a stale host, are shown as before.
func TestStatusBadgeTrustLevel(t *testing.T) {
	now := time.Date(2026, 12, 8, 9, 0, 0, 0, time.UTC)
	tests := []struct {
		row                  HostRow
		wantBadge, wantClass string
	}{
		{HostRow{Status: StatusPassed, TrustLevel: "secure_boot_only"}, SecureBootOnlyBadge, "st-passed"},
		{HostRow{Status: StatusPassed, TrustLevel: "references"}, "Passed", "st-passed"},
		{HostRow{Status: StatusPassed}, "Passed", "st-passed"},
		{HostRow{Status: StatusFailed, TrustLevel: "secure_boot_only"}, "Failed", "st-failed"},
		{HostRow{Status: StatusPassed, TrustLevel: "secure_boot_only", StaleSince: now.Add(-time.Hour)}, "Stale", "st-stale"},
	}
	for _, tt := range tests {
		badge, class, _ := statusShown(tt.row, now)
		if badge != tt.wantBadge || class != tt.wantClass {
			t.Errorf("%s at %q: badge %q class %q, want %q %q", tt.row.Status, tt.row.TrustLevel, badge, class, tt.wantBadge, tt.wantClass)
		}
	}
}

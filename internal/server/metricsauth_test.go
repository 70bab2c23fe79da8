package server

import "testing"

// TestMetricsAuthDefault: on unless the listener is loopback only.
func TestMetricsAuthDefault(t *testing.T) {
	for listen, want := range map[string]bool{
		":8443": true, "0.0.0.0:8443": true, "[::]:8443": true, "10.0.0.5:8443": true, "verifier.example:8443": true,
		"127.0.0.1:8443": false, "127.0.0.2:8443": false, "[::1]:8443": false, "localhost:8443": false, "garbage": true,
	} {
		if got := MetricsAuthDefault(listen); got != want {
			t.Errorf("MetricsAuthDefault(%q) = %v, want %v", listen, got, want)
		}
	}
}

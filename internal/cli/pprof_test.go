package cli

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
)

func TestServePprofOnlyOnLoopback(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for _, tt := range []struct {
		addr, wantErr string
	}{
		{"0.0.0.0:0", "only a loopback address"},
		{":0", "only a loopback address"},
		{"192.0.2.1:0", "only a loopback address"},
		{"no-port", "missing port"},
		{"127.0.0.1:0", ""},
		{"[::1]:0", ""},
	} {
		err := servePprof(ctx, tt.addr, log)
		if tt.wantErr == "" {
			if err != nil && !strings.Contains(err.Error(), "address") {
				t.Errorf("servePprof(%q) = %v, want nil", tt.addr, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("servePprof(%q) = %v, want an error saying %q", tt.addr, err, tt.wantErr)
		}
	}
}

package loadgen_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/bootproof/bootproof/internal/auth"
	"github.com/bootproof/bootproof/internal/loadgen"
	"github.com/bootproof/bootproof/internal/makerca"
	"github.com/bootproof/bootproof/internal/server"
)

// startVerifier runs a verifier on SQLite in this process, trusting a new
// loadgen maker CA, until the test ends (maxParked 0: the default bound),
// and returns a load run's Config for it without hosts or schedule.
func startVerifier(t *testing.T, maxParked int) loadgen.Config {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	dir := t.TempDir()
	makerDir := filepath.Join(dir, "maker")
	maker, err := makerca.LoadOrCreate(makerDir)
	if err != nil {
		t.Fatal(err)
	}
	ready := make(chan string, 1)
	srv, err := server.Open(ctx, server.Config{Listen: "127.0.0.1:0", DataDir: filepath.Join(dir, "data"),
		EKRoots: []string{makerDir}, MaxParked: maxParked, Ready: func(addr string) { ready <- addr }})
	if err != nil {
		t.Fatal(err)
	}
	token, _, err := srv.Verifier.CreateAPIToken(ctx, "load", "loadgen admin", auth.Admin)
	if err != nil {
		t.Fatal(err)
	}
	runErr := make(chan error, 1)
	go func() { runErr <- srv.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-runErr
		srv.Close()
	})
	var addr string
	select {
	case addr = <-ready:
	case err := <-runErr:
		t.Fatalf("verifier did not start: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("verifier did not start within 30 s")
	}
	caPEM, err := os.ReadFile(filepath.Join(dir, "data", "ca.pem"))
	if err != nil {
		t.Fatal(err)
	}
	return loadgen.Config{URL: "https://" + addr, CAPEM: caPEM, AdminToken: token, Maker: maker}
}

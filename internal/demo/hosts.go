package demo

import (
	"context"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/bootproof/bootproof/internal/auth"
	"github.com/bootproof/bootproof/internal/store"
)

func pemCert(der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

// token returns the demo's token kept in DATA/file, making it on first run.
func (d *demo) token(ctx context.Context, file, name string, role auth.Role) (string, error) {
	path := filepath.Join(d.cfg.DataDir, file)
	if b, err := os.ReadFile(path); err == nil {
		tok := strings.TrimSpace(string(b))
		id, _, err := auth.Split(tok)
		if err == nil {
			if t, err := d.srv.Store.GetAPIToken(ctx, id); err == nil && t.RevokedAt == nil {
				return tok, nil
			}
		}
	}
	tok, _, err := d.srv.Verifier.CreateAPIToken(ctx, "demo", name, role)
	if err != nil {
		return "", err
	}
	return tok, os.WriteFile(path, []byte(tok+"\n"), 0o600)
}

func (d *demo) startAll(ctx context.Context, ms []member) error {
	for _, m := range ms {
		if err := d.startHost(ctx, m, nil); err != nil {
			return err
		}
	}
	return nil
}

func (d *demo) hostDir(name string) string { return filepath.Join(d.cfg.DataDir, "hosts", name) }

// startHost starts one `bootproof host` process. A host enrolled in an
// earlier run keeps its identity and needs no join token.
func (d *demo) startHost(ctx context.Context, m member, secureBoot *bool) error {
	dir := d.hostDir(m.Name)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	args := []string{"host", "--profile", string(m.Profile), "--name", m.Name, "--state", dir,
		"--maker-ca", filepath.Join(d.cfg.DataDir, "maker-ca"), "--verifier", d.url,
		"--ca", filepath.Join(d.cfg.DataDir, "ca.pem")}
	if _, err := os.Stat(filepath.Join(dir, "identity.json")); err != nil {
		tok, _, err := d.srv.Verifier.CreateJoinToken(ctx, "demo", m.Group, m.Name, time.Hour)
		if err != nil {
			return fmt.Errorf("join token for %s: %w", m.Name, err)
		}
		args = append(args, "--join-token", tok)
	}
	if secureBoot != nil {
		args = append(args, "--secure-boot", map[bool]string{true: "on", false: "off"}[*secureBoot])
	}
	logf, err := os.OpenFile(dir+".log", os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	cmd := exec.Command(d.cfg.Binary, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("start host %s: %w", m.Name, err)
	}
	d.mu.Lock()
	d.procs[m.Name] = cmd
	d.mu.Unlock()
	go func() { _ = cmd.Wait(); logf.Close() }()
	return nil
}

// stopHost ends a host's process and waits for it, as a shutdown would.
func (d *demo) stopHost(name string) {
	d.mu.Lock()
	cmd := d.procs[name]
	delete(d.procs, name)
	d.mu.Unlock()
	if cmd == nil || cmd.Process == nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		for cmd.ProcessState == nil {
			time.Sleep(50 * time.Millisecond)
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		_ = cmd.Process.Kill()
	}
}

// stop ends every child and the verifier.
func (d *demo) stop() {
	d.mu.Lock()
	names := make([]string, 0, len(d.procs))
	for n := range d.procs {
		names = append(names, n)
	}
	d.mu.Unlock()
	for _, n := range names {
		d.stopHost(n)
	}
	d.cancel()
	select {
	case <-d.srvDone:
	case <-time.After(10 * time.Second):
	}
	d.srv.Close()
}

var errTimeout = errors.New("timed out")

// waitFor polls the store until ok holds for the host.
func (d *demo) waitFor(ctx context.Context, name string, ok func(store.Host) bool, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		if h, err := d.srv.Store.GetHost(ctx, name); err == nil && ok(h) {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
	return fmt.Errorf("%w after %s (see %s.log)", errTimeout, limit, d.hostDir(name))
}

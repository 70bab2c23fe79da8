package pgtest

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // driver "pgx"
)

// server is the one PostgreSQL of this test binary.
type server struct {
	dir    string // holds data/, the unix socket and postgres.log
	bin    string
	cred   *syscall.Credential
	port   int
	cmd    *exec.Cmd
	exited chan struct{}
	admin  *sql.DB // connected to the "postgres" database, for CREATE DATABASE
}

var (
	once      sync.Once
	shared    *server
	sharedErr error
	skipWhy   string
	dbSeq     atomic.Int64
)

// Start returns the URL of a new, empty database on the test binary's
// PostgreSQL server, starting the server on first use. The database is
// dropped when tb ends. Start skips tb when PostgreSQL is not installed and
// fails it when the server cannot start.
func Start(tb testing.TB) string {
	tb.Helper()
	once.Do(func() {
		bin, why := findBinDir()
		if bin == "" {
			skipWhy = why
			return
		}
		shared, sharedErr = startServer(bin)
	})
	if skipWhy != "" {
		tb.Skipf("pgtest: PostgreSQL not available: %s", skipWhy)
	}
	if sharedErr != nil {
		tb.Fatalf("pgtest: %v", sharedErr)
	}
	name := fmt.Sprintf("test_%d_%d", os.Getpid(), dbSeq.Add(1))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := shared.admin.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		tb.Fatalf("pgtest: create database %s: %v", name, err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := shared.admin.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			tb.Logf("pgtest: drop database %s: %v", name, err)
		}
	})
	return shared.dsn(name)
}

// Stop shuts the shared server down and removes its files. Call it from
// TestMain after m.Run; it does nothing when no server was started.
func Stop() {
	if shared == nil {
		return
	}
	shared.stop()
	shared = nil
	once = sync.Once{} // a later Start starts a new server
}

// Main runs the tests, stops the server and exits: a whole TestMain.
func Main(m *testing.M) {
	code := m.Run()
	Stop()
	os.Exit(code)
}

func (s *server) dsn(db string) string {
	q := url.Values{"host": {s.dir}, "port": {strconv.Itoa(s.port)}, "sslmode": {"disable"}}
	return "postgres://postgres@/" + db + "?" + q.Encode()
}

// findBinDir finds the directory holding initdb and postgres: PATH first,
// then Debian's /usr/lib/postgresql/<version>/bin (newest version).
func findBinDir() (dir, why string) {
	if p, err := exec.LookPath("initdb"); err == nil {
		d := filepath.Dir(p)
		if _, err := os.Stat(filepath.Join(d, "postgres")); err == nil {
			return d, ""
		}
		if q, err := exec.LookPath("postgres"); err == nil && filepath.Dir(q) == d {
			return d, ""
		}
	}
	matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	best, bestVersion := "", -1
	for _, m := range matches {
		d := filepath.Dir(m)
		v, err := strconv.Atoi(filepath.Base(filepath.Dir(d)))
		if err != nil {
			continue
		}
		if _, err := os.Stat(filepath.Join(d, "postgres")); err == nil && v > bestVersion {
			best, bestVersion = d, v
		}
	}
	if best != "" {
		return best, ""
	}
	return "", "initdb and postgres are neither on PATH nor under /usr/lib/postgresql/*/bin (install the postgresql package)"
}

// startServer runs initdb into a fresh directory and starts postgres on a
// unix socket there. It returns when the server accepts connections.
func startServer(bin string) (*server, error) {
	dir, err := os.MkdirTemp("", "bootproof-pgtest-")
	if err != nil {
		return nil, fmt.Errorf("make server directory: %w", err)
	}
	s := &server{dir: dir, bin: bin}
	ok := false
	defer func() {
		if !ok {
			s.stop()
		}
	}()
	// initdb and postgres refuse to run as root: drop to an unprivileged
	// user that owns the directory.
	cred, err := unprivileged()
	if err != nil {
		return nil, err
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		return nil, fmt.Errorf("chmod %s: %w", dir, err)
	}
	if cred != nil {
		if err := os.Chown(dir, int(cred.Uid), int(cred.Gid)); err != nil {
			return nil, fmt.Errorf("give %s to uid %d: %w", dir, cred.Uid, err)
		}
	}
	data := filepath.Join(dir, "data")
	initdb := exec.Command(filepath.Join(bin, "initdb"), "-D", data, "-U", "postgres", "-A", "trust",
		"-E", "UTF8", "--locale=C", "--no-sync")
	prepare(initdb, dir, cred)
	if out, err := initdb.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("initdb in %s: %w\n%s", data, err, out)
	}

	s.cred = cred
	if s.port, err = freePort(); err != nil {
		return nil, err
	}
	if err := s.launch(); err != nil {
		return nil, err
	}
	if s.admin, err = sql.Open("pgx", s.dsn("postgres")); err != nil {
		return nil, fmt.Errorf("open admin connection: %w", err)
	}
	if err := s.waitReady(30 * time.Second); err != nil {
		log, _ := os.ReadFile(filepath.Join(dir, "postgres.log"))
		return nil, fmt.Errorf("postgres in %s: %w\n%s", dir, err, tail(string(log), 2000))
	}
	ok = true
	return s, nil
}

// launch starts postgres on the server's data directory and port.
func (s *server) launch() error {
	logPath := filepath.Join(s.dir, "postgres.log")
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("create %s: %w", logPath, err)
	}
	defer logFile.Close()
	// Durability is worthless for a throwaway server; speed is not.
	s.cmd = exec.Command(filepath.Join(s.bin, "postgres"), "-D", filepath.Join(s.dir, "data"), "-k", s.dir,
		"-p", strconv.Itoa(s.port), "-c", "listen_addresses=", "-c", "fsync=off", "-c", "synchronous_commit=off",
		"-c", "full_page_writes=off", "-c", "max_connections=300")
	prepare(s.cmd, s.dir, s.cred)
	s.cmd.Stdout, s.cmd.Stderr = logFile, logFile
	// If the test binary dies without Stop, take the server with it.
	s.cmd.SysProcAttr.Pdeathsig = syscall.SIGQUIT
	if err := s.cmd.Start(); err != nil {
		return fmt.Errorf("start postgres: %w", err)
	}
	exited := make(chan struct{})
	s.exited = exited
	cmd := s.cmd
	go func() { cmd.Wait(); close(exited) }()
	return nil
}

// Restart stops the shared server (a fast shutdown: clients are cut off)
// and starts it again on the same data, after down has passed: a database
// restart under the tests' feet. Databases and their rows survive.
func Restart(tb testing.TB, down time.Duration) {
	tb.Helper()
	up := Down(tb)
	time.Sleep(down)
	up()
}

// Down stops the shared server (a fast shutdown: clients are cut off) and
// returns up, which starts it again on the same data and returns once it
// accepts connections: a database outage for as long as the test needs.
// up does its work once, however often it is called: register it with
// tb.Cleanup too, so that a test that fails while the server is down
// leaves it up for the next. Call it from the test's own goroutine.
func Down(tb testing.TB) (up func()) {
	tb.Helper()
	if shared == nil {
		tb.Fatal("pgtest: Down before Start")
	}
	s := shared
	s.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-s.exited:
	case <-time.After(30 * time.Second):
		tb.Fatal("pgtest: postgres did not stop")
	}
	var once sync.Once
	return func() {
		tb.Helper()
		once.Do(func() {
			if err := s.launch(); err != nil {
				tb.Fatalf("pgtest: restart: %v", err)
			}
			if err := s.waitReady(30 * time.Second); err != nil {
				tb.Fatalf("pgtest: restart: %v", err)
			}
		})
	}
}

func (s *server) waitReady(limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := s.admin.PingContext(ctx)
		cancel()
		if err == nil {
			return nil
		}
		select {
		case <-s.exited:
			return fmt.Errorf("exited before accepting connections: %v", s.cmd.ProcessState)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not accepting connections after %s: %w", limit, err)
		}
	}
}

func (s *server) stop() {
	if s.admin != nil {
		s.admin.Close()
	}
	if s.cmd != nil && s.cmd.Process != nil {
		// SIGINT is PostgreSQL's fast shutdown.
		s.cmd.Process.Signal(syscall.SIGINT)
		select {
		case <-s.exited:
		case <-time.After(10 * time.Second):
			s.cmd.Process.Kill()
			<-s.exited
		}
	}
	os.RemoveAll(s.dir)
}

// prepare runs cmd in dir, as cred when set, with a plain environment.
func prepare(cmd *exec.Cmd, dir string, cred *syscall.Credential) {
	cmd.Dir = dir
	cmd.Env = []string{"LC_ALL=C", "LANG=C", "PATH=/usr/bin:/bin", "HOME=" + dir}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
}

// unprivileged returns the credential to run PostgreSQL under when this
// process is root ("nobody"), and nil otherwise.
func unprivileged() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("nobody")
	if err != nil {
		return &syscall.Credential{Uid: 65534, Gid: 65534}, nil
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err := errors.Join(err1, err2); err != nil {
		return nil, fmt.Errorf("user nobody: %w", err)
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

// freePort picks a port nobody listens on; with listen_addresses empty it
// only names the unix socket, so a race with another process is harmless.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("pick a port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "..." + s[len(s)-n:]
}

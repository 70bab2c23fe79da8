package tpm

import (
	"net"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/bootproof/bootproof/internal/eventlog"
)

// TestSwtpm runs swtpm when it is installed, without the not-need-init flag,
// so OpenSwtpm has to power it on through the control port.
func TestSwtpm(t *testing.T) {
	bin, err := exec.LookPath("swtpm")
	if err != nil {
		t.Skip("swtpm is not installed (apt install swtpm); skipping the swtpm transport test")
	}
	port := freePort(t)
	cmd := exec.Command(bin, "socket", "--tpm2", "--tpmstate", "dir="+t.TempDir(),
		"--server", "type=tcp,port="+strconv.Itoa(port)+",bindaddr=127.0.0.1",
		"--ctrl", "type=tcp,port="+strconv.Itoa(port+1)+",bindaddr=127.0.0.1", "--flags", "startup-clear")
	if err := cmd.Start(); err != nil {
		t.Fatalf("start swtpm: %v", err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	var d *Device
	for i := 0; i < 50; i++ {
		if d, err = OpenSwtpm(addr); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("OpenSwtpm(%s): %v", addr, err)
	}
	defer d.Close()
	if f, err := d.Family(); err != nil || f != FamilyTPM20 {
		t.Errorf("Family() = %v, %v; want 2.0", f, err)
	}
	if _, err := d.ReadPCRs(eventlog.SHA256); err != nil {
		t.Errorf("ReadPCRs: %v", err)
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	for i := 0; i < 20; i++ {
		l1, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		p := l1.Addr().(*net.TCPAddr).Port
		l2, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p+1))
		l1.Close()
		if err == nil {
			l2.Close()
			return p
		}
	}
	t.Fatal("no two consecutive free ports")
	return 0
}

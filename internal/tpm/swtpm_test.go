package tpm

import (
	"bytes"
	"crypto/rand"
	"net"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/bootproof/bootproof/internal/eventlog"
	"github.com/google/go-tpm/tpm2"
)

// TestSwtpm runs swtpm, when it is installed, in both ways operators start
// it: needing CMD_INIT on its control port, and with not-need-init. It
// checks the device end to end (family, extend, EK, AK, quote, credential
// activation) and that a second connection does not reset the running TPM.
func TestSwtpm(t *testing.T) {
	bin, err := exec.LookPath("swtpm")
	if err != nil {
		t.Skip("swtpm is not installed (apt install swtpm); skipping the swtpm transport test")
	}
	for _, tt := range []struct{ name, flags string }{
		{"needs CMD_INIT", ""}, // answers TPM_RC_FAILURE until powered on
		{"not-need-init", "not-need-init,startup-clear"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			addr := startSwtpm(t, bin, tt.flags)
			d := openSwtpm(t, addr)
			if f, err := d.Family(); err != nil || f != FamilyTPM20 {
				t.Errorf("Family() = %v, %v; want 2.0", f, err)
			}
			digests := eventlog.Digests([]eventlog.Alg{eventlog.SHA256}, []byte("loader"))
			if err := d.Extend(4, digests); err != nil {
				t.Fatalf("Extend: %v", err)
			}
			before, err := d.ReadPCRs(eventlog.SHA256)
			if err != nil {
				t.Fatalf("ReadPCRs: %v", err)
			}
			ekPub, _, err := d.EK()
			if err != nil {
				t.Fatalf("EK: %v", err)
			}
			ak, err := d.CreateAK()
			if err != nil {
				t.Fatalf("CreateAK: %v", err)
			}
			nonce := []byte("swtpm nonce")
			attest, sig, _, err := d.Quote(ak, nonce, eventlog.SHA256)
			if err != nil {
				t.Fatalf("Quote: %v", err)
			}
			verifyQuote(t, ak.Public(), attest, sig, nonce)
			ek, _ := tpm2.Unmarshal[tpm2.TPMTPublic](ekPub)
			kem, err := tpm2.ImportEncapsulationKey(ek)
			if err != nil {
				t.Fatal(err)
			}
			secret := []byte("swtpm secret")
			blob, enc, err := tpm2.CreateCredential(rand.Reader, kem, ak.Name(), secret)
			if err != nil {
				t.Fatal(err)
			}
			if got, err := d.ActivateCredential(ak, blob, enc); err != nil || !bytes.Equal(got, secret) {
				t.Errorf("ActivateCredential = %q, %v; want %q", got, err, secret)
			}
			ak.Close()
			d.Close()

			// A second connection to the running TPM must find the boot's
			// measurements intact: OpenSwtpm never re-inits a live TPM.
			d2 := openSwtpm(t, addr)
			after, err := d2.ReadPCRs(eventlog.SHA256)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(after[4], before[4]) {
				t.Errorf("PCR 4 after reconnecting = %x, want %x (the TPM was reset)", after[4], before[4])
			}
		})
	}
}

func startSwtpm(t *testing.T, bin, flags string) string {
	t.Helper()
	port := freePort(t)
	// swtpm splits its options at commas, which subtest names put in
	// t.TempDir's path: make a directory with a plain name.
	state, err := os.MkdirTemp("", "swtpm")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(state) })
	args := []string{"socket", "--tpm2", "--tpmstate", "dir=" + state,
		"--server", "type=tcp,port=" + strconv.Itoa(port) + ",bindaddr=127.0.0.1",
		"--ctrl", "type=tcp,port=" + strconv.Itoa(port+1) + ",bindaddr=127.0.0.1"}
	if flags != "" {
		args = append(args, "--flags", flags)
	}
	cmd := exec.Command(bin, args...)
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stderr, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start swtpm: %v", err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("swtpm output:\n%s", stderr.String())
		}
	})
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
}

// openSwtpm connects, retrying while swtpm starts listening.
func openSwtpm(t *testing.T, addr string) *Device {
	t.Helper()
	var err error
	for i := 0; i < 50; i++ {
		var d *Device
		if d, err = OpenSwtpm(addr); err == nil {
			t.Cleanup(func() {
				if d.tpm != nil {
					d.Close()
				}
			})
			return d
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("OpenSwtpm(%s): %v", addr, err)
	return nil
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

package tpm

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"time"

	"github.com/google/go-tpm/tpm2"
)

// OpenSwtpm connects to swtpm's TCP interface. addr is the server (data)
// port, where swtpm takes raw TPM commands; its control port is taken to be
// the next port, swtpm's usual pairing:
//
//	swtpm socket --tpm2 --tpmstate dir=DIR \
//	    --server type=tcp,port=2321 --ctrl type=tcp,port=2322 \
//	    --flags not-need-init,startup-clear
//
// With those flags the TPM is ready and OpenSwtpm only checks it with
// TPM2_Startup(CLEAR), where TPM_RC_INITIALIZE (already started) is fine.
// Without them, swtpm answers commands with TPM_RC_FAILURE until its control
// channel gets CMD_INIT; OpenSwtpm then sends CMD_INIT (a power-on, which
// resets PCRs) on the control port and TPM2_Startup(CLEAR). It never sends
// CMD_INIT to a TPM that already answers, because that would wipe the boot's
// measurements.
func OpenSwtpm(addr string) (*Device, error) {
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return nil, fmt.Errorf("connect to swtpm %s: %w", addr, err)
	}
	d := &Device{tpm: &swtpmConn{conn: conn}, desc: "swtpm(" + addr + ")"}
	err = startup(d.tpm)
	if errors.Is(err, tpm2.TPMRCFailure) {
		if err = swtpmInit(addr); err == nil {
			err = startup(d.tpm)
		}
	}
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("start swtpm %s: %w", addr, err)
	}
	return d, nil
}

// startup sends TPM2_Startup(CLEAR); a TPM that is already started is fine.
func startup(t interface{ Send([]byte) ([]byte, error) }) error {
	_, err := tpm2.Startup{StartupType: tpm2.TPMSUClear}.Execute(t)
	if errors.Is(err, tpm2.TPMRCInitialize) {
		return nil
	}
	return err
}

// swtpm control channel commands (swtpm's tpm_ioctl.h: PTM_INIT is command 2,
// with a 32-bit big-endian init-flags word, answered by a 32-bit result).
const swtpmCmdInit = 2

// swtpmInit powers the swtpm at addr on through its control port (addr's
// port + 1).
func swtpmInit(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("swtpm address %q: %w", addr, err)
	}
	p, err := strconv.Atoi(port)
	if err != nil {
		return fmt.Errorf("swtpm address %q: port: %w", addr, err)
	}
	ctrlAddr := net.JoinHostPort(host, strconv.Itoa(p+1))
	c, err := net.DialTimeout("tcp", ctrlAddr, 5*time.Second)
	if err != nil {
		return fmt.Errorf("connect to swtpm control port %s: %w", ctrlAddr, err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	var req [8]byte
	binary.BigEndian.PutUint32(req[0:4], swtpmCmdInit)
	binary.BigEndian.PutUint32(req[4:8], 0) // no flags: keep permanent state
	if _, err := c.Write(req[:]); err != nil {
		return fmt.Errorf("swtpm CMD_INIT on %s: %w", ctrlAddr, err)
	}
	var res [4]byte
	if _, err := io.ReadFull(c, res[:]); err != nil {
		return fmt.Errorf("swtpm CMD_INIT on %s: read result: %w", ctrlAddr, err)
	}
	if r := binary.BigEndian.Uint32(res[:]); r != 0 {
		return fmt.Errorf("swtpm CMD_INIT on %s: result 0x%08x", ctrlAddr, r)
	}
	return nil
}

// maxResponse bounds a TPM response read from the network; real TPM
// responses are a few KiB (TPM_PT_MAX_RESPONSE_SIZE).
const maxResponse = 64 << 10

// swtpmConn sends raw TPM commands over swtpm's data connection, reading the
// response by the size in its header (a TCP read may return part of it).
type swtpmConn struct{ conn net.Conn }

func (s *swtpmConn) Send(cmd []byte) ([]byte, error) {
	_ = s.conn.SetDeadline(time.Now().Add(2 * time.Minute)) // RSA key generation is slow
	if _, err := s.conn.Write(cmd); err != nil {
		return nil, fmt.Errorf("send to swtpm: %w", err)
	}
	var hdr [10]byte
	if _, err := io.ReadFull(s.conn, hdr[:]); err != nil {
		return nil, fmt.Errorf("read swtpm response header: %w", err)
	}
	size := binary.BigEndian.Uint32(hdr[2:6])
	if size < 10 || size > maxResponse {
		return nil, fmt.Errorf("read swtpm response: size %d outside 10..%d", size, maxResponse)
	}
	rsp := make([]byte, size)
	copy(rsp, hdr[:])
	if _, err := io.ReadFull(s.conn, rsp[10:]); err != nil {
		return nil, fmt.Errorf("read swtpm response body: %w", err)
	}
	return rsp, nil
}

func (s *swtpmConn) Close() error { return s.conn.Close() }

package tpm

import (
	"errors"
	"fmt"
	"sync"

	"github.com/google/go-tpm-tools/simulator"
	"github.com/google/go-tpm/tpm2"
	"github.com/google/go-tpm/tpm2/transport"
	"github.com/google/go-tpm/tpm2/transport/linuxtpm"
)

// Device is an open TPM. Its methods serialise their commands with a mutex,
// because a TPM answers one command at a time and multi-command operations
// (a quote and the PCR reads that belong to it) must not interleave.
type Device struct {
	mu   sync.Mutex
	tpm  transport.TPMCloser
	desc string // "simulator(seed=1)", "/dev/tpmrm0", "swtpm(127.0.0.1:2321)": for error messages
	sim  *simulator.Simulator
	seed int64 // the simulator's seed, for Reboot
}

// OpenSimulator starts the TCG reference TPM (Microsoft's ms-tpm-20-ref,
// compiled into the process by go-tpm-tools) with every hierarchy seed derived
// from seed: the same seed gives the same EK and the same primary keys, so an
// emulated host keeps its identity across runs. It is insecure by design and
// only for emulated hosts and tests.
//
// The reference TPM is one global in the process: only one simulator may be
// open at a time, and a second OpenSimulator blocks until the first Device is
// closed. Close powers the simulator off and loses its state (PCRs, NV
// indices, loaded keys); what survives a reopen with the same seed is
// everything derived from the seeds (EK, SRK), which is why an AK blob made
// under the SRK loads again after a reopen (see LoadAK). To emulate a host
// reboot use Reboot, which also keeps the EK certificate.
func OpenSimulator(seed int64) (*Device, error) {
	sim, err := simulator.GetWithFixedSeedInsecure(seed)
	if err != nil {
		return nil, fmt.Errorf("start tpm simulator: %w", err)
	}
	return &Device{
		tpm:  transport.FromReadWriteCloser(sim),
		desc: fmt.Sprintf("simulator(seed=%d)", seed),
		sim:  sim,
		seed: seed,
	}, nil
}

// OpenDevice opens a TPM character device: /dev/tpmrm0 (the kernel's
// resource manager, preferred: it flushes our transient objects and lets
// other TPM users coexist) or /dev/tpm0 (raw, exclusive).
func OpenDevice(path string) (*Device, error) {
	t, err := linuxtpm.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open tpm device %s: %w", path, err)
	}
	return &Device{tpm: t, desc: path}, nil
}

// Close releases the TPM. For the simulator it powers the TPM off and frees
// the process's one simulator slot.
func (d *Device) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.tpm == nil {
		return errors.New("close tpm: already closed")
	}
	err := d.tpm.Close()
	d.tpm = nil
	if err != nil {
		return fmt.Errorf("close tpm %s: %w", d.desc, err)
	}
	return nil
}

// String names the device for logs and errors.
func (d *Device) String() string { return d.desc }

// transport returns the open transport or an error when the Device was closed.
// Callers hold d.mu.
func (d *Device) transport() (transport.TPM, error) {
	if d.tpm == nil {
		return nil, fmt.Errorf("tpm %s is closed", d.desc)
	}
	return d.tpm, nil
}

// flush unloads a transient object or session; errors are ignored because
// flushing is cleanup after the result is already decided.
func flush(t transport.TPM, h tpm2.TPMHandle) {
	_, _ = tpm2.FlushContext{FlushHandle: h}.Execute(t)
}

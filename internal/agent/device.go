package agent

import (
	"fmt"

	"github.com/bootproof/bootproof/internal/eventlog"
	"github.com/bootproof/bootproof/internal/tpm"
)

// DeviceTPM adapts a tpm.Device (real, simulated or swtpm) to the agent.
type DeviceTPM struct{ Dev *tpm.Device }

var _ TPM = DeviceTPM{}

// EK returns the EK public area and certificate.
func (d DeviceTPM) EK() (pub, cert []byte, err error) { return d.Dev.EK() }

// CreateAK makes a new AK under the storage root.
func (d DeviceTPM) CreateAK() (AK, error) { return d.Dev.CreateAK() }

// LoadAK loads a persisted AK.
func (d DeviceTPM) LoadAK(blob []byte) (AK, error) { return d.Dev.LoadAK(blob) }

// Quote quotes every PCR of every bank in banks in one TPM2_Quote.
func (d DeviceTPM) Quote(ak AK, nonce []byte, banks []string) ([]byte, []byte, map[string]map[int][]byte, error) {
	algs := make([]eventlog.Alg, len(banks))
	for i, b := range banks {
		a, err := eventlog.ParseAlg(b)
		if err != nil {
			return nil, nil, nil, err
		}
		algs[i] = a
	}
	k, ok := ak.(*tpm.AK)
	if !ok {
		return nil, nil, nil, fmt.Errorf("AK of type %T is not a TPM key", ak)
	}
	att, sig, pcrs, err := d.Dev.Quote(k, nonce, algs...)
	if err != nil {
		return nil, nil, nil, err
	}
	out := make(map[string]map[int][]byte, len(pcrs))
	for a, vals := range pcrs {
		out[a.String()] = vals
	}
	return att, sig, out, nil
}

// ActivateCredential answers the verifier's enrolment challenge.
func (d DeviceTPM) ActivateCredential(ak AK, blob, secret []byte) ([]byte, error) {
	k, ok := ak.(*tpm.AK)
	if !ok {
		return nil, fmt.Errorf("AK of type %T is not a TPM key", ak)
	}
	return d.Dev.ActivateCredential(k, blob, secret)
}

// Banks lists the active PCR banks Go can hash (SM3 banks are skipped).
func (d DeviceTPM) Banks() ([]string, error) {
	algs, err := d.Dev.Banks()
	if err != nil {
		return nil, err
	}
	var out []string
	for _, a := range algs {
		if _, ok := a.Hash(); ok {
			out = append(out, a.String())
		}
	}
	return out, nil
}

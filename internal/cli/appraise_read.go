package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"github.com/bootproof/bootproof/internal/eventlog"
	"github.com/bootproof/bootproof/internal/wire"
)

// evidenceDir is what `bootproof appraise` read from DIR: the files `hosts
// evidence` writes (with the quotes) or `evidence` writes (without).
type evidenceDir struct {
	Host     string
	Evidence *wire.Evidence
	AKPublic []byte
	// PCRs are pcrs.json's values: with quotes, the values the quotes are
	// checked against; without, taken on trust for replay.
	PCRs eventlog.PCRValues
}

// readEvidenceDir reads DIR. A file that is there but cannot be read or
// parsed is an error naming it; what is absent is left out, and the
// appraisal says what that costs.
func readEvidenceDir(dir string) (*evidenceDir, error) {
	if st, err := os.Stat(dir); err != nil {
		return nil, err
	} else if !st.IsDir() {
		return nil, fmt.Errorf("%s is not a directory", dir)
	}
	d := &evidenceDir{Host: filepath.Base(filepath.Clean(dir)), Evidence: &wire.Evidence{TPMFamily: wire.FamilyTPM20}}
	if err := d.readIdentity(dir); err != nil {
		return nil, err
	}
	var err error
	if d.Evidence.EventLog, err = optionalFile(dir, fileEventLog); err != nil {
		return nil, err
	}
	if raw, err := optionalFile(dir, filePCRs); err != nil {
		return nil, err
	} else if raw != nil {
		if d.PCRs, err = eventlog.ParsePCRValues(raw); err != nil {
			return nil, fmt.Errorf("%s: %w", filepath.Join(dir, filePCRs), err)
		}
	}
	if err := d.readQuotes(dir); err != nil {
		return nil, err
	}
	if d.Evidence.Bundles, err = readEvidenceBundles(filepath.Join(dir, "bundles")); err != nil {
		return nil, err
	}
	return d, nil
}

// readIdentity takes the host name and TPM family from evidence.json
// (`hosts evidence`) or host.json (`evidence`), whichever is there.
func (d *evidenceDir) readIdentity(dir string) error {
	var id struct {
		Host      string `json:"host"`
		TPMFamily string `json:"tpm_family"`
		Evidence  *struct {
			TPMFamily string `json:"tpm_family"`
		} `json:"evidence"`
	}
	for _, name := range []string{fileEvidence, fileHost} {
		raw, err := optionalFile(dir, name)
		if err != nil || raw == nil {
			if err != nil {
				return err
			}
			continue
		}
		if err := json.Unmarshal(raw, &id); err != nil {
			return fmt.Errorf("%s: %w", filepath.Join(dir, name), err)
		}
		if id.Evidence != nil {
			id.TPMFamily = id.Evidence.TPMFamily
		}
		if id.Host != "" {
			d.Host = id.Host
		}
		if id.TPMFamily != "" {
			d.Evidence.TPMFamily = id.TPMFamily
		}
		return nil
	}
	return nil
}

// readQuotes reads quote-N.attest and quote-N.sig from N = 0 up, with
// nonce.bin and ak.pub, which a quote cannot be checked without. Each
// quote is sent with every value of pcrs.json, as the agent sends them:
// the appraisal takes the ones the quote selects.
func (d *evidenceDir) readQuotes(dir string) error {
	for i := 0; ; i++ {
		attestFile, sigFile := quoteFiles(i)
		attest, err := optionalFile(dir, attestFile)
		if err != nil || attest == nil {
			if err != nil {
				return err
			}
			break
		}
		sig, err := os.ReadFile(filepath.Join(dir, sigFile))
		if err != nil {
			return fmt.Errorf("quote %d has no signature: %w", i, err)
		}
		d.Evidence.Quotes = append(d.Evidence.Quotes, wire.Quote{Attest: attest, Signature: sig, PCRs: wirePCRs(d.PCRs)})
	}
	if len(d.Evidence.Quotes) == 0 {
		return nil
	}
	var err error
	if d.Evidence.Nonce, err = os.ReadFile(filepath.Join(dir, fileNonce)); err != nil {
		return fmt.Errorf("the quotes cannot be checked without the nonce: %w", err)
	}
	if d.AKPublic, err = os.ReadFile(filepath.Join(dir, fileAK)); err != nil {
		return fmt.Errorf("the quotes cannot be checked without the AK: %w", err)
	}
	return nil
}

// wirePCRs is pcrs.json's values as a quote carries them.
func wirePCRs(v eventlog.PCRValues) map[string]map[int][]byte {
	out := make(map[string]map[int][]byte, len(v))
	for bank, vals := range v {
		out[bank.String()] = vals
	}
	return out
}

// readEvidenceBundles reads the bundle files in the verifier's order:
// `hosts evidence` numbers them (0.bundle, 1.bundle, ...) in the order the
// agent sent them; other directories are read as the agent reads its own
// (readBundles: by name).
func readEvidenceBundles(dir string) ([][]byte, error) {
	var out [][]byte
	for i := 0; ; i++ {
		b, err := optionalFile(dir, strconv.Itoa(i)+".bundle")
		if err != nil {
			return nil, err
		}
		if b == nil {
			break
		}
		out = append(out, b)
	}
	if out != nil {
		return out, nil
	}
	return readBundles(dir)
}

// optionalFile reads dir/name, nil when it is absent.
func optionalFile(dir, name string) ([]byte, error) {
	b, err := os.ReadFile(filepath.Join(dir, name))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	return b, err
}

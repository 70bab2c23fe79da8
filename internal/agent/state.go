package agent

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/bootproof/bootproof/internal/privfile"
)

// identity is what the agent keeps across restarts.
type identity struct {
	Host          string `json:"host"`
	VerifierURL   string `json:"verifier_url"`
	TPMFamily     string `json:"tpm_family"`
	AKBlob        []byte `json:"ak_blob,omitempty"`
	ClientKeyPEM  []byte `json:"client_key_pem"`
	ClientCertPEM []byte `json:"client_cert_pem,omitempty"`
	VerifierCAPEM []byte `json:"verifier_ca_pem"`
}

const identityFile = "identity.json"

func (id *identity) enrolled() bool { return len(id.ClientCertPEM) > 0 }

// loadIdentity returns the saved identity, or nil when there is none.
// The state folder (its client key) must be private: it is made 0700, and
// one that group or others may use is refused (privfile).
func loadIdentity(dir string) (*identity, error) {
	if err := privfile.EnsureDir(dir); err != nil {
		return nil, fmt.Errorf("agent state folder: %w", err)
	}
	b, err := os.ReadFile(filepath.Join(dir, identityFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read agent identity: %w", err)
	}
	var id identity
	if err := json.Unmarshal(b, &id); err != nil {
		return nil, fmt.Errorf("read agent identity %s: %w", filepath.Join(dir, identityFile), err)
	}
	return &id, nil
}

// save writes the identity atomically: a crash leaves the old or the new
// file, never a torn one.
func (id *identity) save(dir string) error {
	if err := privfile.EnsureDir(dir); err != nil {
		return fmt.Errorf("agent state folder: %w", err)
	}
	b, err := json.MarshalIndent(id, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, identityFile+".*")
	if err != nil {
		return fmt.Errorf("save agent identity: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("save agent identity: %w", err)
	}
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return fmt.Errorf("save agent identity: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("save agent identity: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("save agent identity: %w", err)
	}
	if err := os.Rename(tmp.Name(), filepath.Join(dir, identityFile)); err != nil {
		return fmt.Errorf("save agent identity: %w", err)
	}
	return nil
}

package gate

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/bootproof/bootproof/internal/client"
	"github.com/bootproof/bootproof/internal/trusttoken"
)

// KeysPath is where the verifier publishes its trust-token keys.
const KeysPath = "/.well-known/bootproof/trust-token-keys.pem"

// PinKey fetches the verifier's trust-token keys once, over TLS
// authenticated by the configured CA, and saves them to cfg.TokenKeyFile.
// It refuses plain HTTP (as every client of the verifier does): a key
// fetched from an unauthenticated source would let anyone on the path mint
// tokens the gate believes. It returns the IDs
// of the keys saved.
func PinKey(ctx context.Context, cfg Config) ([]string, error) {
	// client.New refuses a URL that is not https (httpsurl), before any
	// request.
	api, err := client.New(client.Settings{URL: cfg.VerifierURL, CAFile: cfg.CAFile, Timeout: cfg.Timeout})
	if err != nil {
		return nil, fmt.Errorf("pin trust-token key: %w", err)
	}
	var pemBytes []byte
	if err := api.Do(ctx, "GET", KeysPath, nil, &pemBytes); err != nil {
		return nil, fmt.Errorf("pin trust-token key: %w", err)
	}
	keys, err := trusttoken.ParsePublicKeys(pemBytes)
	if err != nil {
		return nil, fmt.Errorf("pin trust-token key: verifier's answer: %w", err)
	}
	if err := writeAtomic(cfg.TokenKeyFile, pemBytes, 0o644); err != nil {
		return nil, fmt.Errorf("pin trust-token key: %w", err)
	}
	ids := make([]string, len(keys))
	for i, k := range keys {
		ids[i] = trusttoken.KeyID(k)
	}
	return ids, nil
}

func writeAtomic(path string, b []byte, mode os.FileMode) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+"-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if err := f.Chmod(mode); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

package gate

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// maxCachedToken bounds what is read back from the cache (tokens are < 8 KiB).
const maxCachedToken = 16 << 10

// tokenCache keeps the latest trust token per host, one file each. The
// files are not trusted when read back: every use verifies the token again.
type tokenCache struct{ dir string }

func (c tokenCache) path(host string) string { return filepath.Join(c.dir, host+".token") }

// put replaces host's token atomically (temporary file, fsync, rename), so
// a crash never leaves half a token, with mode 0600.
func (c tokenCache) put(host, token string) error {
	if err := os.MkdirAll(c.dir, 0o700); err != nil {
		return fmt.Errorf("token cache %s: %w", c.dir, err)
	}
	if err := writeAtomic(c.path(host), []byte(token), 0o600); err != nil {
		return fmt.Errorf("token cache: %w", err)
	}
	return nil
}

// get returns host's cached token, or "" when there is none.
func (c tokenCache) get(host string) (string, error) {
	f, err := os.Open(c.path(host))
	if errors.Is(err, os.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("token cache: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxCachedToken+1))
	if err != nil {
		return "", fmt.Errorf("token cache: %w", err)
	}
	if len(b) > maxCachedToken {
		return "", fmt.Errorf("token cache %s: more than %d bytes", c.path(host), maxCachedToken)
	}
	return string(b), nil
}

// drop forgets host's token, so that a deny is never undone by an older allow.
func (c tokenCache) drop(host string) error {
	if err := os.Remove(c.path(host)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("token cache: %w", err)
	}
	return nil
}

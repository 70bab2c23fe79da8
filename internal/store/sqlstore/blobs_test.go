package sqlstore_test

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/bootproof/bootproof/internal/store"
	"github.com/bootproof/bootproof/internal/store/pgtest"
)

func mkBlob(data []byte) store.Blob {
	sum := sha256.Sum256(data)
	return store.Blob{SHA256: hex.EncodeToString(sum[:]), Data: data}
}

// TestBlobsStoredOnce: hosts sending the same event log and bundles, again
// and again, leave one copy of each and one blob set, on both databases.
func TestBlobsStoredOnce(t *testing.T) {
	for name, dsn := range map[string]func(t *testing.T) string{
		"sqlite":   func(t *testing.T) string { return filepath.Join(t.TempDir(), "b.db") },
		"postgres": func(t *testing.T) string { return pgtest.Start(t) },
	} {
		t.Run(name, func(t *testing.T) {
			dsn := dsn(t)
			s := open(t, dsn)
			log, b1, b2 := mkBlob(make([]byte, 8<<10)), mkBlob([]byte("bundle one")), mkBlob([]byte("bundle two"))
			seedHosts(t, s, 3)
			for i := range 9 {
				_, err := s.RecordAttestation(t.Context(), store.AttestationRecord{Host: fmt.Sprintf("host-%05d", i%3),
					At: benchT0.Add(time.Duration(i) * time.Minute), Status: store.StatusPassed,
					Evidence: []byte("{}"), Blobs: []store.Blob{log, b1, b2}, Credential: seedCred})
				if err != nil {
					t.Fatalf("RecordAttestation: %v", err)
				}
			}
			db := rawDB(t, dsn)
			for table, want := range map[string]int{"blobs": 3, "blob_sets": 1, "blob_set_members": 3} {
				var n int
				if err := db.QueryRow("SELECT COUNT(*) FROM " + table).Scan(&n); err != nil {
					t.Fatal(err)
				}
				if n != want {
					t.Errorf("%s has %d rows, want %d", table, n, want)
				}
			}
		})
	}
}

package sqlstore_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/bootproof/bootproof/internal/store/sqlstore"
)

// TestBackgroundCheckpoint: what a writer commits reaches the database file
// without a writer's commit crossing the automatic checkpoint's threshold:
// the checkpointer copies it back on its own.
func TestBackgroundCheckpoint(t *testing.T) {
	path := filepath.Join(t.TempDir(), "v.db")
	st, err := sqlstore.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	size := func() int64 {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		return fi.Size()
	}
	before := size()
	// 2 MiB: about 512 pages, far below the writer's backstop threshold.
	value := bytes.Repeat([]byte("checkpoint "), 2<<20/11)
	if _, err := st.PutKVIfAbsent(t.Context(), "big", value); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for size() < before+int64(len(value)) {
		if time.Now().After(deadline) {
			t.Fatalf("database file %d B after 10 s, want at least %d B: nothing checkpointed the WAL", size(), before+int64(len(value)))
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := st.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

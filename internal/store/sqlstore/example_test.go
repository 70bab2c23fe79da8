package sqlstore_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/bootproof/bootproof/internal/store"
	"github.com/bootproof/bootproof/internal/store/sqlstore"
)

func ExampleOpen() {
	dir, err := os.MkdirTemp("", "bootproof-example-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	ctx := context.Background()
	// A file path opens SQLite; "postgres://..." would open PostgreSQL.
	st, err := sqlstore.Open(ctx, filepath.Join(dir, "verifier.db"))
	if err != nil {
		log.Fatal(err)
	}
	defer st.Close()

	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	if err := st.CreateHost(ctx, store.Host{Name: "esx-01", Group: "prod", TPMFamily: store.TPMFamily20,
		Status: store.StatusPending, EnrolledAt: now, StatusSince: now}); err != nil {
		log.Fatal(err)
	}
	changed, err := st.RecordAttestation(ctx, store.AttestationRecord{Host: "esx-01", At: now.Add(time.Second),
		Status: store.StatusPassed, Evidence: []byte(`{}`), Verdict: []byte(`{}`)})
	if err != nil {
		log.Fatal(err)
	}
	counts, err := st.CountByStatus(ctx, "")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(st.Dialect(), changed, counts[store.StatusPassed])
	// Output: sqlite true 1
}

package cli

import (
	"bytes"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/bootproof/bootproof/internal/api"
	"github.com/bootproof/bootproof/internal/client"
	"github.com/bootproof/bootproof/internal/policy"
)

// learnServer answers the learn endpoint as the verifier does and records
// the requests: a dry run answers version "v1" and one added kernel.
type learnServer struct {
	mu   sync.Mutex
	reqs []api.LearnRequest
}

func (s *learnServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var req api.LearnRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil || r.URL.Path != "/api/v1/groups/lab/learn" {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	s.reqs = append(s.reqs, req)
	s.mu.Unlock()
	ch := policy.Changes{References: []policy.RefChange{{Class: "kernel", Change: policy.RefAdded, Reference: "vmlinuz-6.12 (cc)"}}}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(api.LearnResponse{Group: "lab", Host: req.Host, DryRun: req.DryRun, Applied: !req.DryRun,
		PolicyVersion: "v1", NewPolicyVersion: "v2", Changes: ch, Diff: ch.String()})
}

func learnClient(t *testing.T) (*client.Client, *learnServer) {
	t.Helper()
	ls := &learnServer{}
	srv := httptest.NewTLSServer(ls)
	t.Cleanup(srv.Close)
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := client.New(client.Settings{URL: srv.URL, Token: "t", CAFile: ca})
	if err != nil {
		t.Fatal(err)
	}
	return c, ls
}

// TestRunLearnConfirms: the diff is shown before anything is applied; on a
// terminal "y" applies against the version shown and anything else applies
// nothing; without a terminal only --yes applies.
func TestRunLearnConfirms(t *testing.T) {
	tests := []struct {
		name      string
		terminal  bool
		answer    string
		yes       bool
		wantApply bool
		wantErr   string
	}{
		{"terminal, yes", true, "y\n", false, true, ""},
		{"terminal, no", true, "n\n", false, false, "not confirmed"},
		{"terminal, just enter", true, "\n", false, false, "not confirmed"},
		{"no terminal", false, "y\n", false, false, "pass --yes"},
		{"no terminal, --yes", false, "", true, true, ""},
	}
	defer func(f func(io.Reader) bool) { isTerminal = f }(isTerminal)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			isTerminal = func(io.Reader) bool { return tt.terminal }
			c, ls := learnClient(t)
			var out, errOut bytes.Buffer
			stdio := IO{In: strings.NewReader(tt.answer), Out: &out, Err: &errOut}
			err := runLearn(t.Context(), c, stdio, "lab", "old", learnFlags{yes: tt.yes, expire: "7d"})
			if (err == nil) != (tt.wantErr == "") || (err != nil && !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("runLearn: %v, want error %q", err, tt.wantErr)
			}
			if !strings.Contains(out.String(), "+ kernel: vmlinuz-6.12 (cc)") {
				t.Errorf("the diff was not shown:\n%s", out.String())
			}
			want := []api.LearnRequest{{Host: "old", DryRun: true, Expire: "7d"}}
			if tt.wantApply {
				want = append(want, api.LearnRequest{Host: "old", Expire: "7d", PolicyVersion: "v1"})
			}
			if diff := cmp.Diff(want, ls.reqs); diff != "" {
				t.Errorf("requests (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRunLearnForceNeedsReason(t *testing.T) {
	c, ls := learnClient(t)
	err := runLearn(t.Context(), c, IO{In: strings.NewReader(""), Out: io.Discard, Err: io.Discard}, "lab", "old", learnFlags{force: true, yes: true, reason: " "})
	if err == nil || !strings.Contains(err.Error(), "--reason") || len(ls.reqs) != 0 {
		t.Errorf("--force without a reason: %v after %d requests", err, len(ls.reqs))
	}
}

package cli

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bootproof/bootproof/internal/api"
	"github.com/bootproof/bootproof/internal/appraisal"
	"github.com/bootproof/bootproof/internal/loadgen"
)

var updateAppraiseGolden = flag.Bool("update-appraise", false, "rewrite testdata/appraise/*.golden")

// TestAppraiseEmulated makes a policy offline (--learn on a good host,
// trusting the emulated vendor's bundle root) and judges emulated hosts'
// `evidence` output with it: the human output is golden, the exit status
// is the verdict's, and --json decodes into the API's verdict type with
// the headline beside it.
func TestAppraiseEmulated(t *testing.T) {
	tmp := t.TempDir()
	base, err := loadgen.LoadPolicy(0)
	if err != nil {
		t.Fatal(err)
	}
	y, err := base.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	basePath := writeTestFile(t, filepath.Join(tmp, "base.yaml"), y)
	dirs := map[string]string{}
	for _, p := range []string{"good", "secureboot-off", "tampered-kernel"} {
		dirs[p] = filepath.Join(tmp, p)
		runBootproof(t, "evidence", "--profile", p, "--out", dirs[p], "--host", "esx-"+p)
	}
	learned := mustRun(t, "appraise", dirs["good"], "--policy", basePath, "--learn")
	pol := writeTestFile(t, filepath.Join(tmp, "learned.yaml"), []byte(learned))
	cases := []struct {
		profile, status, code string
		exit                  int
	}{
		{"good", "Passed", "", 0},
		{"secureboot-off", "Failed", "secureboot.disabled", 1},
		{"tampered-kernel", "Failed", "reference.kernel", 1},
	}
	for _, c := range cases {
		t.Run(c.profile, func(t *testing.T) {
			code, out, errs := runBootproof(t, "appraise", dirs[c.profile], "--policy", pol)
			if code != c.exit {
				t.Errorf("exit %d, want %d\n%s%s", code, c.exit, out, errs)
			}
			golden(t, filepath.Join("testdata", "appraise", c.profile+".golden"), out)
			_, js, _ := runBootproof(t, "appraise", dirs[c.profile], "--policy", pol, "--json")
			var hv api.AppraisedVerdict
			if err := json.Unmarshal([]byte(js), &hv); err != nil {
				t.Fatalf("--json: %v\n%s", err, js)
			}
			if hv.Host != "esx-"+c.profile || string(hv.Verdict.Status) != c.status {
				t.Errorf("--json: host %q status %s, want esx-%s %s", hv.Host, hv.Verdict.Status, c.profile, c.status)
			}
			if c.code != "" && !failedWith(hv.Verdict, c.code) || c.code == "" && len(hv.Verdict.Failures()) > 0 {
				t.Errorf("--json: failed checks %v, want %q among them", hv.Verdict.Failures(), c.code)
			}
			if hv.ReasonCode != c.code || (c.code == "") != (hv.Reason == "") {
				t.Errorf("--json: headline %q (%q), want %q", hv.ReasonCode, hv.Reason, c.code)
			}
			if want := "reason: " + c.code + ":"; c.code != "" && !strings.Contains(out, want) {
				t.Errorf("human output has no %q headline", want)
			}
			if len(hv.Verdict.NotChecked) == 0 {
				t.Error("--json: no quote, yet no check is listed as not checked")
			}
		})
	}
}

func failedWith(v *appraisal.Verdict, code string) bool {
	for _, f := range v.Failures() {
		if f.Code == code {
			return true
		}
	}
	return false
}

// TestAppraiseCannot: what cannot be appraised exits 2 and names the file.
func TestAppraiseCannot(t *testing.T) {
	tmp := t.TempDir()
	bad := filepath.Join(tmp, "bad")
	runBootproof(t, "evidence", "--profile", "good", "--out", bad)
	writeTestFile(t, filepath.Join(bad, "pcrs.json"), []byte(`{"sha256": {"0": "zz"}}`))
	noAK := filepath.Join(tmp, "noak")
	runBootproof(t, "evidence", "--profile", "good", "--out", noAK)
	writeTestFile(t, filepath.Join(noAK, "quote-0.attest"), []byte("x"))
	writeTestFile(t, filepath.Join(noAK, "quote-0.sig"), []byte("x"))
	writeTestFile(t, filepath.Join(noAK, "nonce.bin"), []byte("n"))
	tpm12 := filepath.Join(tmp, "tpm12")
	runBootproof(t, "evidence", "--profile", "tpm12", "--out", tpm12)
	for _, c := range []struct{ name, dir, want string }{
		{"absent", filepath.Join(tmp, "none"), "no such file"},
		{"bad pcrs.json", bad, "pcrs.json"},
		{"quote without AK", noAK, "without the AK"},
		{"not a TPM 2.0", tpm12, "N/A"},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, out, errs := runBootproof(t, "appraise", c.dir)
			if code != 2 || !strings.Contains(out+errs, c.want) {
				t.Errorf("exit %d, want 2 and %q\n%s%s", code, c.want, out, errs)
			}
		})
	}
}

func golden(t *testing.T, path, got string) {
	t.Helper()
	if *updateAppraiseGolden {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("output differs from %s (-update-appraise rewrites it):\n%s", path, got)
	}
}

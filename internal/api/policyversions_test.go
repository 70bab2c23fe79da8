package api_test

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bootproof/bootproof/internal/api"
	"github.com/bootproof/bootproof/internal/auth"
	"github.com/bootproof/bootproof/internal/policy"
	"github.com/bootproof/bootproof/internal/store"
	"github.com/bootproof/bootproof/internal/verifier"
)

// TestPolicyVersionsAPI: a put is a version with its author and comment,
// history lists it, one version reads back with its YAML, a preview of a
// policy trusting no bundle root lists both hosts as failing and stores
// nothing, a rollback appends the old YAML, and the host says which
// version judged it.
func TestPolicyVersionsAPI(t *testing.T) {
	f := newFixture(t)
	base := "/api/v1/groups/lab/policy"
	var before api.List[api.PolicyVersion]
	f.mustJSON(t, "GET", base+"/versions", auth.Viewer, "", http.StatusOK, &before)
	if len(before.Items) == 0 {
		t.Fatal("no policy versions after the fixture's put")
	}
	judged := before.Items[0].Version // the version the fixture's hosts attested under
	var host api.HostDetail
	f.mustJSON(t, "GET", "/api/v1/hosts/"+hostA, auth.Viewer, "", http.StatusOK, &host)
	if host.PolicyVersion != judged {
		t.Errorf("host %s judged under policy version %d, want %d", hostA, host.PolicyVersion, judged)
	}

	slower := policy.Default()
	slower.Interval = 7 * time.Minute
	yaml, err := slower.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	st, body, hdr := f.do(t, f.client, "PUT", base+"?comment=slower+attestations", f.env.AdminToken, yaml, "application/yaml")
	if st != http.StatusNoContent || hdr.Get(api.PolicyVersionHeader) != strconv.Itoa(judged+1) {
		t.Fatalf("PUT policy = %d %s, version header %q; want 204, %d", st, body, hdr.Get(api.PolicyVersionHeader), judged+1)
	}
	var put api.PolicyVersion
	f.mustJSON(t, "GET", fmt.Sprintf("%s/versions/%d", base, judged+1), auth.Viewer, "", http.StatusOK, &put)
	if put.Comment != "slower attestations" || !strings.Contains(put.Author, "admin") || put.Policy != string(yaml) {
		t.Errorf("version %d = %+v, want the comment, an admin token as author and the YAML put", judged+1, put)
	}

	// Preview: the default policy trusts no bundle root, so both hosts fail.
	stateBefore := f.state(t)
	def, _ := policy.Default().Marshal()
	st, body, _ = f.do(t, f.client, "POST", base+":preview?listed=1", f.env.Token(auth.Operator), def, "application/yaml")
	if st != http.StatusOK {
		t.Fatalf("preview = %d %s", st, body)
	}
	var pv verifier.Preview
	if err := strictJSON(body, &pv); err != nil {
		t.Fatalf("preview answer: %v\n%s", err, body)
	}
	if pv.Hosts != 2 || pv.WouldFail != 2 || pv.Changed != 2 || len(pv.Changes) != 1 || pv.More != 1 ||
		pv.Changes[0].Host != hostA || pv.Changes[0].To != store.StatusFailed || pv.Changes[0].Headline == "" {
		t.Errorf("preview = %+v, want 2 hosts failing, %s listed with a headline and 1 more", pv, hostA)
	}
	if after := f.state(t); after != stateBefore {
		t.Errorf("preview changed the store:\nbefore %s\nafter  %s", stateBefore, after)
	}

	var rb api.PolicyVersion
	f.mustJSON(t, "POST", base+":rollback", auth.Admin, fmt.Sprintf(`{"version":%d}`, judged), http.StatusOK, &rb)
	if rb.Version != judged+2 || rb.Comment != fmt.Sprintf("rollback to version %d", judged) {
		t.Errorf("rollback = %+v, want version %d restoring %d", rb, judged+2, judged)
	}
	var all api.List[api.PolicyVersion]
	f.mustJSON(t, "GET", base+"/versions", auth.Viewer, "", http.StatusOK, &all)
	if len(all.Items) != len(before.Items)+2 || all.Items[0].Version != judged+2 || all.Items[0].Policy != "" {
		t.Errorf("history after put and rollback = %+v, want two more, newest first, without YAML", all.Items)
	}
}

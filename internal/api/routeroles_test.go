package api_test

import (
	"os"
	"strings"
	"testing"

	"github.com/bootproof/bootproof/internal/api"
)

// routeRolesFile says, one line a route, who may call each route. It is
// written apart from the route table so that a route whose role is lowered
// there fails a test here (TestEndpoints derives its refusals from the
// table and would follow the change); e2e TestAPIAuthAttacks holds the
// running verifier to the same list.
const routeRolesFile = "testdata/route-roles.txt"

// routeRoleLine is a route's line in routeRolesFile.
func routeRoleLine(r api.RouteInfo) string {
	who := "public"
	switch {
	case r.Agent:
		who = "agent-certificate"
	case r.Role != 0:
		who = r.Role.String()
	}
	return r.Method + " " + r.Path + " " + who
}

// TestRouteRoles compares the route table with routeRolesFile. A new
// route, or a deliberate change of role, is one line there.
func TestRouteRoles(t *testing.T) {
	b, err := os.ReadFile(routeRolesFile)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{}
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		want[l] = true
	}
	var table []string
	for _, r := range api.RouteTable() {
		l := routeRoleLine(r)
		table = append(table, l)
		if !want[l] {
			t.Errorf("route table has %q, which %s does not list (a new route or a changed role: add or fix its line)", l, routeRolesFile)
		}
		delete(want, l)
	}
	for l := range want {
		t.Errorf("%s lists %q, which the route table does not have", routeRolesFile, l)
	}
	if t.Failed() {
		t.Logf("the route table as %s would list it:\n%s", routeRolesFile, strings.Join(table, "\n"))
	}
}

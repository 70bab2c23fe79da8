package api_test

import (
	"io"
	"net/http"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"gopkg.in/yaml.v3"

	"github.com/bootproof/bootproof/internal/api"
	"github.com/bootproof/bootproof/internal/server/servertest"
)

// openAPIDoc is the part of an OpenAPI 3 document this test reads.
type openAPIDoc struct {
	OpenAPI string                          `yaml:"openapi"`
	Paths   map[string]map[string]yaml.Node `yaml:"paths"`
}

type openAPIOperation struct {
	OperationID string                 `yaml:"operationId"`
	Security    *[]map[string][]string `yaml:"security"`
	Responses   map[string]any         `yaml:"responses"`
}

var httpMethods = map[string]bool{"get": true, "put": true, "post": true, "delete": true, "patch": true, "head": true, "options": true}

// documented lists "METHOD /path" for every operation of the document.
func documented(t *testing.T, doc []byte) (map[string]openAPIOperation, openAPIDoc) {
	t.Helper()
	var d openAPIDoc
	if err := yaml.Unmarshal(doc, &d); err != nil {
		t.Fatalf("openapi.yaml is not YAML: %v", err)
	}
	if !strings.HasPrefix(d.OpenAPI, "3.") {
		t.Fatalf("openapi.yaml declares openapi %q, want 3.x", d.OpenAPI)
	}
	ops := map[string]openAPIOperation{}
	for path, item := range d.Paths {
		for key := range item {
			if !httpMethods[key] {
				continue // "parameters", "summary", ...
			}
			var op openAPIOperation
			node := item[key]
			if err := node.Decode(&op); err != nil {
				t.Fatalf("%s %s: %v", key, path, err)
			}
			ops[strings.ToUpper(key)+" "+path] = op
		}
	}
	return ops, d
}

// publicRoutes lists "METHOD /path" for every route of the table that the
// document must describe: all but the agent protocol.
func publicRoutes() map[string]api.RouteInfo {
	out := map[string]api.RouteInfo{}
	for _, r := range api.RouteTable() {
		if strings.HasPrefix(r.Path, "/agent/") {
			continue
		}
		out[r.Method+" "+r.Path] = r
	}
	return out
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// TestOpenAPIMatchesRoutes compares the document's paths and methods with
// the route table both ways, and checks what each operation promises about
// authentication against the route's role.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	ops, _ := documented(t, api.OpenAPI())
	routes := publicRoutes()
	if diff := cmp.Diff(keys(routes), keys(ops)); diff != "" {
		t.Errorf("route table (-) and openapi.yaml (+) differ:\n%s", diff)
	}
	ids := map[string]string{}
	for k, op := range ops {
		if op.OperationID == "" {
			t.Errorf("%s has no operationId", k)
		} else if prev, dup := ids[op.OperationID]; dup {
			t.Errorf("%s and %s share operationId %q", k, prev, op.OperationID)
		}
		ids[op.OperationID] = k
		r, ok := routes[k]
		if !ok {
			continue
		}
		public := op.Security != nil && len(*op.Security) == 0
		if public != (r.Role == 0) {
			t.Errorf("%s: document says public=%v, route table role is %q", k, public, r.Role)
		}
		if r.Role != 0 {
			if _, ok := op.Responses["401"]; !ok {
				t.Errorf("%s needs a token but documents no 401", k)
			}
		}
		if r.Role > 1 {
			if _, ok := op.Responses["403"]; !ok {
				t.Errorf("%s needs the %s role but documents no 403", k, r.Role)
			}
		}
		// Every route that names a thing says what happens when it is
		// absent, except PUT policy, which creates the group.
		if strings.Contains(r.Path, "{") && k != "PUT /api/v1/groups/{name}/policy" {
			if _, ok := op.Responses["404"]; !ok {
				t.Errorf("%s takes a name but documents no 404", k)
			}
		}
	}
}

// TestOpenAPIServed: the running verifier serves the embedded document
// without a token.
func TestOpenAPIServed(t *testing.T) {
	env := servertest.Start(t)
	resp, err := env.HTTPClient().Get(env.URL + "/api/v1/openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /api/v1/openapi.yaml = %d %s", resp.StatusCode, body)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.Contains(ct, "yaml") {
		t.Errorf("Content-Type = %q, want YAML", ct)
	}
	if string(body) != string(api.OpenAPI()) {
		t.Error("served document differs from the embedded one")
	}
}

package api

import (
	_ "embed"
	"net/http"
)

//go:embed openapi.yaml
var openAPIDoc []byte

// OpenAPI returns the OpenAPI 3 document of /api/v1 (YAML). A test keeps it
// and the route table in step, both ways.
func OpenAPI() []byte { return openAPIDoc }

func (s *server) openAPI(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Content-Type", "application/yaml")
	_, err := w.Write(openAPIDoc)
	return err
}

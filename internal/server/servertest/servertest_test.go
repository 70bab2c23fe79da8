package servertest_test

import (
	"net/http"
	"testing"

	"github.com/bootproof/bootproof/internal/auth"
	"github.com/bootproof/bootproof/internal/server/servertest"
)

// TestStart: the verifier answers over TLS with its own CA, and each
// role's token gets what that role may have.
func TestStart(t *testing.T) {
	env := servertest.Start(t)
	tests := []struct {
		role auth.Role
		path string
		want int
	}{
		{auth.Viewer, "/api/v1/hosts", http.StatusOK},
		{auth.Viewer, "/api/v1/audit", http.StatusForbidden},
		{auth.Operator, "/api/v1/audit", http.StatusOK},
		{auth.Operator, "/api/v1/api-tokens", http.StatusForbidden},
		{auth.Admin, "/api/v1/api-tokens", http.StatusOK},
	}
	for _, tt := range tests {
		req, _ := http.NewRequest("GET", env.URL+tt.path, nil)
		req.Header.Set("Authorization", "Bearer "+env.Token(tt.role))
		resp, err := env.HTTPClient().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tt.want {
			t.Errorf("%s GET %s = %d, want %d", tt.role, tt.path, resp.StatusCode, tt.want)
		}
	}
	if env.Token(auth.Admin) != env.AdminToken {
		t.Error("Token(Admin) is not AdminToken")
	}
}

package server

import (
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"strings"

	"github.com/bootproof/bootproof/internal/api"
	"github.com/bootproof/bootproof/internal/auth"
)

// MetricsAuthDefault is whether /metrics needs an API token when the
// operator does not say: yes on any listener another machine can reach
// (the metrics name no secret, but they tell who is watching how many
// hosts fail, and cost a scrape of every counter), no on a loopback one.
func MetricsAuthDefault(listen string) bool {
	host, _, err := net.SplitHostPort(listen)
	if err != nil || host == "" {
		return true // ":8443" listens on every interface
	}
	if host == "localhost" {
		return false
	}
	ip := net.ParseIP(host)
	return ip == nil || !ip.IsLoopback()
}

// requireViewer answers 401 (or 503 when the token store cannot be read)
// unless the request carries a valid API token of any role; viewer is
// enough to read the metrics, as it is to read the report.
func requireViewer(a *auth.Authenticator, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok {
			metricsRefusal(w, http.StatusUnauthorized, "unauthenticated",
				"/metrics needs an API token (Authorization: Bearer ...; viewer is enough)")
			return
		}
		_, err := a.Authenticate(r.Context(), tok)
		switch {
		case err == nil:
			next.ServeHTTP(w, r)
		case errors.Is(err, auth.ErrRevoked):
			metricsRefusal(w, http.StatusUnauthorized, "token_revoked", "this API token was revoked")
		case errors.Is(err, auth.ErrBadToken), errors.Is(err, auth.ErrNoToken):
			metricsRefusal(w, http.StatusUnauthorized, "unauthenticated", "the API token is not valid for this verifier")
		default:
			metricsRefusal(w, http.StatusServiceUnavailable, "store.unavailable", "the verifier cannot check API tokens now")
		}
	})
}

func metricsRefusal(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="bootproof"`)
	}
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(api.Error{Code: code, Message: msg})
}

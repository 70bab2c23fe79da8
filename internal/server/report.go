package server

import (
	"net/http"

	"github.com/bootproof/bootproof/internal/auth"
)

// registerReport mounts the security report (package web) once it exists.
func registerReport(mux *http.ServeMux, s *Server, a *auth.Authenticator) {}
